using System.Text.Json;
using TorchDoctor.Detectors;
using TorchDoctor.Models;
using TorchDoctor.Profiling;
using Xunit;
using TorchSharp;
using static TorchSharp.torch;
using static TorchSharp.torch.nn;

namespace TorchDoctor.Tests.Profiling;

/// <summary>The profiler on real models: spans, nesting, phases, schedule, and the trace format.</summary>
[Collection(ProcessMemoryCollection.Name)]
public class ProfilerTests
{
    private static Profiler Train(Module<Tensor, Tensor> model, Tensor x, Tensor y, int steps, ProfilerOptions options, Action<Profiler>? extra = null)
    {
        var opt = optim.SGD(model.parameters(), 0.01);
        var prof = Profiler.Attach(model, options);
        for (int s = 0; s < steps; s++)
        {
            using var scope = NewDisposeScope();
            prof.BeginStep();
            Tensor output, loss;
            using (prof.Phase(StepPhase.Forward)) output = model.call(x);
            using (prof.Phase(StepPhase.Loss)) loss = functional.cross_entropy(output, y);
            using (prof.Phase(StepPhase.Backward)) loss.backward();
            using (prof.Phase(StepPhase.OptimizerStep)) { opt.step(); opt.zero_grad(); }
            extra?.Invoke(prof);
            prof.EndStep();
        }
        return prof;
    }

    [Fact]
    public void Resnet18_trace_is_well_nested_json_with_one_forward_span_per_module_call_per_step()
    {
        using var model = torchvision.models.resnet18(num_classes: 10);
        using var x = rand(2, 3, 64, 64);
        using var y = tensor(new long[] { 1, 2 });
        using var prof = Train(model, x, y, 4, new ProfilerOptions { Schedule = new ProfileSchedule(Wait: 1, Warmup: 1, Active: 2) });
        var report = prof.Report();
        Assert.Equal(2, report.Steps.Count);
        Assert.Equal([2L, 3L], report.Steps.Select(s => s.Step));

        using var doc = JsonDocument.Parse(new TorchDoctor.Reporting.ProfileChromeTraceExporter().Render(report));
        var events = doc.RootElement.GetProperty("traceEvents").EnumerateArray().ToList();
        Assert.All(events, e => Assert.Equal("X", e.GetProperty("ph").GetString()));
        // One forward span per module call per profiled step: resnet18 has 68 hooked modules (root included), each called once.
        int modules = prof.Tree.Nodes.Count;
        foreach (var step in new[] { 2, 3 })
        {
            var fwd = events.Where(e => e.GetProperty("cat").GetString() == "forward" && e.GetProperty("args").GetProperty("step").GetInt64() == step).ToList();
            Assert.Equal(modules, fwd.Count);
            Assert.Equal(modules, fwd.Select(e => e.GetProperty("name").GetString()).Distinct().Count());
            Assert.Contains(events, e => e.GetProperty("cat").GetString() == "backward" && e.GetProperty("name").GetString() == "layer4.1.conv2");
        }
        // Well nested: on each lane, any two spans are disjoint or one contains the other.
        foreach (var lane in events.GroupBy(e => e.GetProperty("tid").GetInt32()))
        {
            var spans = lane.Select(e => (S: e.GetProperty("ts").GetDouble(), E: e.GetProperty("ts").GetDouble() + e.GetProperty("dur").GetDouble())).OrderBy(s => s.S).ThenByDescending(s => s.E).ToList();
            var stack = new Stack<(double S, double E)>();
            foreach (var sp in spans)
            {
                while (stack.Count > 0 && stack.Peek().E <= sp.S + 1e-6) stack.Pop();
                if (stack.Count > 0) Assert.True(sp.E <= stack.Peek().E + 1e-6, $"span [{sp.S}, {sp.E}] crosses [{stack.Peek().S}, {stack.Peek().E}] on lane {lane.Key}");
                stack.Push(sp);
            }
        }
        // Module self times add up to the model's forward, which is nearly all of the forward phase.
        Assert.InRange(report.ModuleForwardSelfMs / report.ModelForwardMs, 0.999, 1.001);
        Assert.True(report.ModelForwardMs / report.ForwardMs >= 0.9, $"model {report.ModelForwardMs} ms of forward phase {report.ForwardMs} ms");
        Assert.True(report.Modules.Single(m => m.Module == "layer1.0.conv1").BackwardTotalMs > 0);
        Assert.Equal(64 * 16 * 16 * 2 * 4, report.Modules.Single(m => m.Module == "layer1.0.conv1").OutputBytes);
        Assert.Contains(report.Phases, p => p.Name == "backward" && p.Ms > 0);
    }

    [Fact]
    public void Regions_nest_with_modules_and_unmarked_work_is_unexplained()
    {
        torch.manual_seed(1);
        using var model = new SmallCnn();
        using var x = rand(8, 1, 28, 28);
        using var y = randint(10, 8);
        using var prof = Train(model, x, y, 3, new ProfilerOptions { Schedule = new ProfileSchedule(0, 0, 3) }, p =>
        {
            using (p.Region("eval")) using (no_grad()) model.call(x).Dispose();
            var busy = System.Diagnostics.Stopwatch.StartNew();
            while (busy.Elapsed.TotalMilliseconds < 300) { }   // host work outside every phase
        });
        var report = prof.Report();
        var region = Assert.Single(report.Phases, p => p.Category == "region");
        Assert.Equal("eval", region.Name);
        // The eval forward's module spans lie inside the region span.
        foreach (var s in report.Steps)
        {
            var r = s.Spans.Single(sp => sp.Category == "region");
            Assert.Contains(s.Spans, sp => sp.Category == "forward" && sp.StartMicroseconds >= r.StartMicroseconds && sp.EndMicroseconds <= r.EndMicroseconds);
        }
        Assert.True(report.UnexplainedMs >= 250, $"unexplained {report.UnexplainedMs} ms");
        // The rule fires exactly when the unexplained share reaches 10% (the share itself depends on the machine's load).
        Assert.Equal(report.UnexplainedMs / report.StepMs >= 0.1, ProfileDetector.Detect(report).Any(f => f.Code == "TD6006"));
        Assert.Equal(2, report.Modules.Single(m => m.Module == "conv1").Calls);
    }

    [Fact]
    public void Inference_with_grad_on_holds_the_saved_activations_and_no_grad_does_not()
    {
        torch.manual_seed(1);
        using var model = new SmallCnn();
        model.eval();
        using var x = rand(64, 1, 28, 28);
        var cost = InferenceMemory.Measure(model, x);
        // conv1's input and output, relu/pool outputs, conv2's…: well over the output's 64×10 floats.
        Assert.True(cost.WithGradBytes > 1_000_000, $"with grad {cost.WithGradBytes}");
        Assert.True(cost.SavedBytes > cost.WithGradBytes / 2, $"saved {cost.SavedBytes} of {cost.WithGradBytes}");
    }

    [Fact]
    public void Schedule_records_only_active_steps_and_repeats()
    {
        var s = new ProfileSchedule(Wait: 2, Warmup: 1, Active: 2, Repeat: 2);
        Assert.Equal([0, 0, 1, 2, 2, 0, 0, 1, 2, 2, 0, 0], Enumerable.Range(0, 12).Select(i => s.StateOf(i)));
    }
}

/// <summary>`torchdoctor profile`.</summary>
public class ProfileCommandTests
{
    [Fact]
    public void Profile_prints_sorted_rows_and_writes_a_trace()
    {
        var trace = Path.Combine(Path.GetTempPath(), $"td-trace-{Guid.NewGuid():N}.json");
        try
        {
            var (code, output, err) = CliRunner.Run("profile", "--model", "mnist-cnn", "--input", "4,1,28,28", "--steps", "2", "--sort", "total", "--row-limit", "5", "--trace", trace);
            Assert.True(code == 0, err);
            Assert.Contains("(model)", output);
            Assert.Contains("phase  backward", output);
            using var doc = JsonDocument.Parse(File.ReadAllText(trace));
            Assert.True(doc.RootElement.GetProperty("traceEvents").GetArrayLength() > 20);
            var (jcode, json, _) = CliRunner.Run("profile", "--model", "mnist-cnn", "--input", "4,1,28,28", "--steps", "1", "--json");
            Assert.Equal(0, jcode);
            var root = CliRunner.Json(json);
            Assert.Equal(1, root.GetProperty("steps").GetInt32());
            Assert.True(root.GetProperty("inference").GetProperty("savedByNoGradBytes").GetInt64() > 0);
        }
        finally { File.Delete(trace); }
    }

    [Fact]
    public void Bad_profile_usage_exits_2_with_one_line()
    {
        var (code, _, err) = CliRunner.Run("profile", "--model", "no-such-model");
        Assert.Equal(2, code);
        Assert.Contains("unknown model 'no-such-model'", err);
        Assert.Single(err.Trim().Split('\n'));
    }
}
