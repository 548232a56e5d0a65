using System.Text.Json;
using TorchDoctor.Reporting;
using TorchDoctor.Findings;
using TorchDoctor.Inspection;
using TorchDoctor.Models;
using TorchSharp;
using TorchSharp.Modules;
using Xunit;
using static TorchSharp.torch;
using static TorchSharp.torch.nn;

namespace TorchDoctor.Tests.Inspection;

public class ModelSummaryTests
{
    private sealed class TwiceNet : Module<Tensor, Tensor>
    {
        private readonly Linear shared = Linear(8, 8);
        private readonly Linear head = Linear(8, 2);
        public TwiceNet() : base(nameof(TwiceNet)) => RegisterComponents();
        public override Tensor forward(Tensor x) => head.call(shared.call(functional.relu(shared.call(x))));
    }

    private sealed class WithUnused : Module<Tensor, Tensor>
    {
        private readonly Linear used = Linear(4, 4);
        private readonly Linear spare = Linear(4, 100);
        private readonly Dropout dropout = Dropout(0.1);
        public WithUnused() : base(nameof(WithUnused)) => RegisterComponents();
        public override Tensor forward(Tensor x) => used.call(x);
    }

    private sealed class ListNet : Module<Tensor, Tensor>
    {
        private readonly ModuleList<Module<Tensor, Tensor>> blocks = new(Linear(6, 6), ReLU(), Linear(6, 6));
        public ListNet() : base(nameof(ListNet)) => RegisterComponents();
        public override Tensor forward(Tensor x)
        {
            foreach (var b in blocks) x = b.call(x);
            return x;
        }
    }

    private sealed class Frozen : Module<Tensor, Tensor>
    {
        private readonly Linear a = Linear(5, 5);
        private readonly Linear b = Linear(5, 1);
        public Frozen() : base(nameof(Frozen))
        {
            RegisterComponents();
            foreach (var p in a.parameters()) p.requires_grad = false;
        }
        public override Tensor forward(Tensor x) => b.call(a.call(x));
    }

    [Fact]
    public void Rows_follow_execution_order_with_paths_depths_and_shapes()
    {
        torch.manual_seed(1);
        using var model = new SmallCnn();
        var r = ModelSummary.Run(model, [1, 1, 28, 28]);
        Assert.True(r.Succeeded);
        Assert.Equal(["", "conv1", "relu1", "pool1", "conv2", "relu2", "pool2", "flatten", "fc1", "relu3", "fc2"], r.Rows.Select(x => x.Path));
        Assert.Equal("Conv2d: 1-1", r.Rows[1].Label);
        Assert.Equal([1L, 32, 5, 5], r.Rows[6].OutputShapes[0]);
        Assert.Equal(108_618, r.TotalParams);
        Assert.Equal("[3, 3]", r.Rows[1].KernelSize);
        // conv1: 160 params × 26×26 positions
        Assert.Equal(160L * 26 * 26, r.Rows[1].MultAdds);
        Assert.Equal(r.Rows.Where(x => x.IsLeaf).Sum(x => x.MultAdds), r.MultAdds);
        Assert.Empty(r.Findings);
    }

    [Fact]
    public void Custom_module_calling_child_forward_is_reported_as_hook_bypassed()
    {
        using var model = new BypassNet();
        var r = ModelSummary.Run(model, [2, 16]);
        var f = Assert.Single(r.Findings, f => f.Code == StructureCodes.HookBypassed.Code);
        Assert.Equal("block.proj", f.Module);
        Assert.Contains("proj.call(x)", f.Advice);
        Assert.Contains("block.proj", r.NeverRan);
        Assert.Equal("2 of 2", f.Evidence["parameters with gradient"]);
        Assert.DoesNotContain(r.Findings, x => x.Code == StructureCodes.UnusedModule.Code);
    }

    [Fact]
    public void Embedding_and_lstm_model_with_long_inputs()
    {
        using var model = new TextLstm();
        var r = ModelSummary.Run(model, new SummaryOptions { InputShapes = [[3, 32]], InputDTypes = [ScalarType.Int64] });
        Assert.True(r.Succeeded, r.Failure?.Rule);
        var lstm = r.Rows.Single(x => x.Path == "lstm");
        Assert.Equal([3L, 32, 128], lstm.OutputShapes[0]);
        Assert.Equal(3, lstm.OutputShapes.Count);   // output, h_n, c_n
        Assert.Equal(99_328, lstm.Params);
        Assert.Equal(3L * 32 * 99_328, lstm.MultAdds);   // RNN rule: output[0] × output[1] × params
        Assert.Equal(3L * 64_000, r.Rows.Single(x => x.Path == "embedding").MultAdds);
        Assert.Equal([3L, 5], r.OutputShapes[0]);
    }

    [Fact]
    public void Module_called_twice_is_recursive_and_counted_once()
    {
        using var model = new TwiceNet();
        var r = ModelSummary.Run(model, [2, 8]);
        var shared = r.Rows.Where(x => x.Path == "shared").ToList();
        Assert.Equal(2, shared.Count);
        Assert.False(shared[0].Recursive);
        Assert.True(shared[1].Recursive);
        Assert.Equal("(recursive)", shared[1].ParamsCell(3));
        Assert.Equal(72 + 18, r.TotalParams);
        Assert.Equal(2 * (2L * 72) + 2 * 18, r.MultAdds);   // both calls cost mult-adds
        Assert.Contains(r.Findings, f => f.Code == StructureCodes.RecursiveModule.Code && f.Module == "shared");
    }

    [Fact]
    public void Tied_weights_count_once()
    {
        using var model = new TiedLm();
        var r = ModelSummary.Run(model, new SummaryOptions { InputShapes = [[1, 16]], InputDTypes = [ScalarType.Int64] });
        Assert.Equal(500 * 32 + 32 * 32 + 32, r.TotalParams);
        Assert.Equal(r.TotalParams * 4, r.ParamsBytes);
        var f = Assert.Single(r.Findings, f => f.Code == StructureCodes.SharedParameter.Code);
        Assert.Contains("decoder.weight", f.Message);
        Assert.True(r.Rows.Single(x => x.Path == "decoder").Recursive);
    }

    [Fact]
    public void Unused_modules_are_listed_and_reported_once_each()
    {
        using var model = new WithUnused();
        var r = ModelSummary.Run(model, [2, 4]);
        Assert.Equal(["spare", "dropout"], r.NeverRan);
        var spare = Assert.Single(r.Findings, f => f.Module == "spare");
        Assert.Equal(Severity.Warning, spare.Severity);
        Assert.Contains("500 parameters", spare.Message);
        var drop = Assert.Single(r.Findings, f => f.Module == "dropout");
        Assert.Equal(Severity.Info, drop.Severity);
        Assert.Equal(20, r.TotalParams - 500);
    }

    [Fact]
    public void ModuleList_container_gets_a_row_and_no_false_bypass()
    {
        using var model = new ListNet();
        var r = ModelSummary.Run(model, [2, 6]);
        Assert.Empty(r.Findings);
        var list = r.Rows.Single(x => x.Path == "blocks");
        Assert.False(list.Ran);
        Assert.Equal(1, list.Depth);
        Assert.Equal(["", "blocks", "blocks.0", "blocks.1", "blocks.2"], r.Rows.Select(x => x.Path));
        Assert.Equal("Linear: 2-1", r.Rows[2].Label);
    }

    [Fact]
    public void Frozen_parameters_are_non_trainable()
    {
        using var model = new Frozen();
        var r = ModelSummary.Run(model, [3, 5]);
        Assert.Equal(36, r.TotalParams);
        Assert.Equal(6, r.TrainableParams);
        Assert.Equal(30, r.NonTrainableParams);
        Assert.Equal("(30)", r.Rows.Single(x => x.Path == "a").ParamsCell(3));
        Assert.Equal("Partial", r.Rows[0].TrainableCell);
        Assert.DoesNotContain(r.Findings, f => f.Code == StructureCodes.NoGradient.Code);
    }

    [Fact]
    public void Summary_leaves_the_model_and_global_state_unchanged()
    {
        torch.manual_seed(7);
        using var model = torchvision.models.resnet18(num_classes: 10);
        model.train();
        var before = model.state_dict().ToDictionary(kv => kv.Key, kv => kv.Value.clone());
        var rngBefore = torch.get_rng_state();
        static long Live() { GC.Collect(); GC.WaitForPendingFinalizers(); GC.Collect(); return torch.Tensor.TotalCount; }
        long liveBefore = Live();
        var r = ModelSummary.Run(model, new SummaryOptions { InputShapes = [[2, 3, 64, 64]], TrainMode = true });
        long liveAfter = Live();
        Assert.True(r.Succeeded);
        Assert.True(model.training);
        foreach (var (k, v) in model.state_dict())
            Assert.True(v.equal(before[k]).all().item<bool>(), $"{k} changed");
        Assert.All(model.parameters(), p => Assert.Null(p.grad));
        Assert.True(torch.get_rng_state().equal(rngBefore).all().item<bool>());
        Assert.Equal(liveBefore, liveAfter);
        Assert.Equal(r.LiveTensors!.Value.Before, r.LiveTensors!.Value.After);
        foreach (var v in before.Values) v.Dispose();
        rngBefore.Dispose();
    }

    [Fact]
    public void Depth_hides_rows_but_totals_count_them()
    {
        using var model = torchvision.models.resnet18();
        var r = ModelSummary.Run(model, new SummaryOptions { InputShapes = [[1, 3, 64, 64]], MeasureMemory = false });
        var text = new SummaryTextExporter(new SummaryExportSettings { Depth = 1 }).Render(r);
        Assert.DoesNotContain("layer1.0.conv1", text);
        Assert.Contains("├─Sequential: 1-5", text);
        Assert.Equal(11_689_512, r.TotalParams);
        // At the display depth a container shows its whole parameter count.
        Assert.Equal("147,968", r.Rows.Single(x => x.Path == "layer1").ParamsCell(1));
    }

    [Fact]
    public void TorchScript_file_summarises_at_top_level()
    {
        using var model = TorchScriptLoader.Load(Fixtures.Path("tiny_cnn.pt"));
        var r = ModelSummary.Run(model, [1, 1, 8, 8]);
        Assert.True(r.Succeeded);
        Assert.Equal(55, r.TotalParams);
        Assert.Equal([1L, 3], r.OutputShapes[0]);
        Assert.Equal(["", "conv", "relu", "pool", "fc"], r.Rows.Select(x => x.Path));
        Assert.Equal(40, r.Rows[1].Params);
        Assert.Equal(15, r.Rows[4].Params);
        Assert.Contains(r.Findings, f => f.Code == StructureCodes.OpaqueModule.Code);
        Assert.DoesNotContain(r.Findings, f => f.Code is "TD1001" or "TD1002");
        // The rows carry the Python classes the archive was scripted from, not TorchSharp's ScriptModule wrapper.
        Assert.Equal(["TinyNet", "Conv2d", "ReLU", "AdaptiveAvgPool2d", "Linear"], r.Rows.Select(x => x.Type));
        // Mult-adds and forward/backward sizes of layers that run inside TorchScript are unknown, not 0 and not the
        // parameter count (the root used to get multAdds 55 = its parameters).
        Assert.All(r.Rows, row => Assert.Null(row.MultAdds));
        Assert.Null(r.MultAdds);
        Assert.Null(r.ForwardBackwardBytes);
        Assert.Null(r.EstimatedTotalBytes);
        var text = r.ToText();
        Assert.Contains("Total mult-adds: unknown", text);
        Assert.Contains("Forward/backward pass size: unknown", text);
        Assert.Contains("Estimated Total Size: unknown", text);
        Assert.DoesNotContain("ScriptModule", text);
        var j = CliRunner.Json(Exporters.Render(r, "json"));
        Assert.Equal(JsonValueKind.Null, j.GetProperty("multAdds").ValueKind);
        Assert.Equal(JsonValueKind.Null, j.GetProperty("forwardBackwardBytes").ValueKind);
        Assert.Equal(JsonValueKind.Null, j.GetProperty("estimatedTotalBytes").ValueKind);
        Assert.Equal(JsonValueKind.Null, j.GetProperty("layers")[0].GetProperty("multAdds").ValueKind);
        Assert.Equal("TinyNet", j.GetProperty("layers")[0].GetProperty("type").GetString());
    }

    [Fact]
    public void TorchScript_rows_show_nested_mangled_and_numbered_class_names()
    {
        // Fixture: tools/make_script_type_fixtures.py (Sequential children declared as __annotations__["0"], one
        // Conv2d class mangled by TorchScript because the two blocks differ).
        using var model = TorchScriptLoader.Load(Fixtures.Path("nested_script.pt"));
        var r = ModelSummary.Run(model, new SummaryOptions { InputShapes = [[1, 1, 8, 8]], MeasureMemory = false });
        Assert.True(r.Succeeded);
        var types = r.Rows.ToDictionary(x => x.Path, x => x.Type);
        Assert.Equal("NestedNet", types[""]);
        Assert.Equal("Sequential", types["stem"]);
        Assert.Equal("Conv2d", types["stem.0"]);
        Assert.Equal("BatchNorm2d", types["stem.1"]);
        Assert.Equal("ReLU", types["stem.2"]);
        Assert.Equal("ModuleList", types["blocks"]);
        Assert.Equal("Block", types["blocks.0"]);
        Assert.Equal("Block", types["blocks.1"]);
        Assert.Equal("Conv2d", types["blocks.0.conv"]);
        Assert.Equal("Conv2d", types["blocks.1.conv"]);
        Assert.Equal("Linear", types["head"]);
        Assert.DoesNotContain(r.Rows, x => x.Type == "ScriptModule");
        Assert.Null(r.MultAdds);
    }

    [Fact]
    public void Text_table_fits_120_columns()
    {
        // torchinfo's default table is 90 columns wide; ours adds Path, Trainable, Kernel Shape and Mult-Adds and was
        // ~190 with fixed 25-wide columns. Columns are now as wide as their content.
        using var model = torchvision.models.resnet18();
        var r = ModelSummary.Run(model, new SummaryOptions { InputShapes = [[1, 3, 224, 224]], MeasureMemory = false });
        var lines = r.ToText().Split('\n').Select(l => l.TrimEnd('\r')).ToList();
        Assert.Contains(lines, l => l.Contains("layer1.0.conv1", StringComparison.Ordinal) && l.Contains("[1, 64, 56, 56]", StringComparison.Ordinal));
        Assert.True(lines.Max(l => l.Length) <= SummaryText.TargetWidth, string.Join("\n", lines.Where(l => l.Length > SummaryText.TargetWidth)));
        Assert.True(lines.Max(l => l.Length) >= 90);   // still a table, not squeezed
        // Prose (a failure explanation, findings) wraps to the same width.
        var failed = ModelSummary.Run(model, new SummaryOptions { InputShapes = [[1, 1, 224, 224]], MeasureMemory = false });
        Assert.False(failed.Succeeded);
        Assert.True(failed.ToText().Split('\n').Max(l => l.TrimEnd('\r').Length) <= SummaryText.TargetWidth);
    }

    [Fact]
    public void Loading_bad_model_files_gives_clear_errors()
    {
        var e1 = Assert.Throws<ModelFileException>(() => TorchScriptLoader.Load(Fixtures.Path("not_torchscript.pt")));
        Assert.Contains("not a TorchScript file", e1.Message);
        var e2 = Assert.Throws<ModelFileException>(() => TorchScriptLoader.Load("/nonexistent/model.pt"));
        Assert.Contains("no such file", e2.Message);
        var truncated = Path.Combine(Path.GetTempPath(), "td_truncated.pt");
        var bytes = File.ReadAllBytes(Fixtures.Path("tiny_cnn.pt"));
        File.WriteAllBytes(truncated, bytes[..(bytes.Length / 2)]);
        var e3 = Assert.Throws<ModelFileException>(() => TorchScriptLoader.Load(truncated));
        Assert.Contains("truncated", e3.Message);
    }

    [Fact]
    public void Json_has_the_contract_fields()
    {
        using var model = new SmallCnn();
        var j = CliRunner.Json(Exporters.Render(ModelSummary.Run(model, [1, 1, 28, 28]), "json"));
        foreach (var field in new[] { "totalParams", "trainableParams", "nonTrainableParams", "multAdds", "inputBytes", "forwardBackwardBytes", "paramsBytes", "estimatedTotalBytes", "measuredPeakBytes", "layers", "findings", "error" })
            Assert.True(j.TryGetProperty(field, out _), field);
        foreach (var field in new[] { "path", "type", "depth", "outputShape", "params", "multAdds", "recursive" })
            Assert.True(j.GetProperty("layers")[1].TryGetProperty(field, out _), field);
    }
}
