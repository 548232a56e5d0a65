using System.CommandLine;
using System.Globalization;
using Spectre.Console;
using TorchDoctor.Cli.Rendering;
using TorchDoctor.Detectors;
using TorchDoctor.Models;
using TorchDoctor.Profiling;
using TorchDoctor.Reporting;
using TorchDoctor.Runtime;
using static TorchSharp.torch;

namespace TorchDoctor.Cli;

/// <summary>`torchdoctor profile`.</summary>
public sealed partial class CliApp
{
    private Command ProfileCommand()
    {
        var model = new Option<string>("--model", "-m") { Description = "A built-in or TorchVision model (see torchdoctor models).", Required = true };
        var input = new Option<string?>("--input", "-i") { Description = "Input shape with the batch first, e.g. 8,3,224,224. Default: the model's usual input." };
        var steps = new Option<int>("--steps") { Description = "Profiled training steps (after 1 skipped and 1 warm-up step).", DefaultValueFactory = _ => 3 };
        var sort = new Option<string>("--sort") { Description = "Sort rows by self (default), total, calls or order (execution order).", DefaultValueFactory = _ => "self" };
        sort.AcceptOnlyFromAmong("self", "total", "calls", "order");
        var rowLimit = new Option<int>("--row-limit") { Description = "Rows to print.", DefaultValueFactory = _ => 20 };
        var trace = new Option<string?>("--trace") { Description = "Write a Chrome trace (Perfetto, chrome://tracing) to this file." };
        var json = new Option<bool>("--json") { Description = "Print one JSON object." };
        var htmlReport = ReportOption();
        var failOn = FailOnOption();
        var cmd = new Command("profile", "Profile training steps of a model on generated data: time per module (forward and backward, self and total), step phases, Chrome trace.")
        {
            model, input, steps, sort, rowLimit, trace, json, htmlReport, failOn,
        };
        cmd.SetAction(p =>
        {
            var name = p.GetValue(model)!;
            int n = p.GetValue(steps);
            if (n <= 0) throw new UsageException("--steps must be positive");
            int rows = p.GetValue(rowLimit);
            if (rows <= 0) throw new UsageException("--row-limit must be positive");
            var entry = ModelZoo.Find(name) ?? throw new UsageException($"unknown model '{name}' (see torchdoctor models)");
            var shape = p.GetValue(input) is { } text ? ParseShape(text) : entry.DefaultInputs[0];
            var tracePath = p.GetValue(trace);
            if (tracePath is not null && Path.GetDirectoryName(Path.GetFullPath(tracePath)) is { } dir && !Directory.Exists(dir))
                throw new UsageException($"--trace '{tracePath}': the folder {dir} does not exist");
            TorchRuntime.EnsureLoaded();
            using var m = entry.Create();
            if (m is not nn.Module<Tensor, Tensor> single)
                throw new UsageException($"profile needs a model with one tensor input; '{name}' takes another signature");
            var dtype = entry.DefaultDTypes[0];
            using var scope = NewDisposeScope();
            var x = dtype is ScalarType.Int64 or ScalarType.Int32 ? randint(0, 100, shape, dtype: dtype) : rand(shape, dtype: dtype);
            Tensor probe;
            try
            {
                using (no_grad()) probe = single.call(x);
            }
            catch (Exception e) when (e is System.Runtime.InteropServices.ExternalException or ArgumentException or InvalidOperationException)
            {
                _err.WriteLine($"torchdoctor: the forward pass of {name} failed on input [{string.Join(", ", shape)}]: {e.Message.Split('\n')[0].Trim()} (run torchdoctor summary --model {name} --input {string.Join(',', shape)} for the explanation)");
                return ExitCodes.ForwardFailed;
            }
            Func<Tensor, Tensor> lossOf = probe.dim() == 2
                ? o => nn.functional.cross_entropy(o, randint(0, probe.shape[1], [shape[0]], generator: null).to(o.device))
                : o => o.square().mean();
            bool asJson = p.GetValue(json);
            var report = WithProgress($"profiling {name}", asJson, progress => ProfileTraining(single, x, lossOf, n, progress));
            var findings = ProfileDetector.Detect(report);
            single.eval();
            var gradCost = InferenceMemory.Measure(single, x);
            if (tracePath is not null) File.WriteAllText(tracePath, new ProfileChromeTraceExporter().Render(report));
            var title = $"{name}, input [{string.Join(", ", shape)}]";
            if (asJson)
            {
                ProfileConsole.WriteJson(_out, report, gradCost, findings);
                if (p.GetValue(htmlReport) is { } jsonReportPath) WriteReport(ReportModels.From(report, findings, title), jsonReportPath, machineOutput: true);
                return ExitFor(findings, p.GetValue(failOn), defaultLevel: null);
            }
            ProfileConsole.WriteText(_out, $"{name}, input [{string.Join(", ", shape)}], {n} profiled training step(s) (SGD, generated data):", report,
                new ProfileExportSettings { Sort = p.GetValue(sort)!, RowLimit = rows }, gradCost, findings, tracePath);
            if (p.GetValue(htmlReport) is { } reportPath) WriteReport(ReportModels.From(report, findings, title), reportPath, machineOutput: false);
            return ExitFor(findings, p.GetValue(failOn), defaultLevel: null);
        });
        return cmd;
    }

    /// <summary>
    /// Profiles <paramref name="steps"/> SGD training steps of <paramref name="model"/> on <paramref name="x"/> (after one
    /// skipped and one warm-up step), with the forward, loss, backward and optimizer phases marked.
    /// </summary>
    internal static ProfileReport ProfileTraining(nn.Module<Tensor, Tensor> model, Tensor x, Func<Tensor, Tensor> lossOf, int steps, IProgress<(int Done, int Total)> progress)
    {
        var opt = optim.SGD(model.parameters(), 1e-3);
        model.train();
        using var prof = Profiler.Attach(model, new ProfilerOptions { Schedule = new ProfileSchedule(1, 1, steps) });
        for (int s = 0; s < steps + 2; s++)
        {
            using var stepScope = NewDisposeScope();
            prof.BeginStep();
            Tensor output, loss;
            using (prof.Phase(StepPhase.Forward)) output = model.call(x);
            using (prof.Phase(StepPhase.Loss)) loss = lossOf(output);
            using (prof.Phase(StepPhase.Backward)) loss.backward();
            using (prof.Phase(StepPhase.OptimizerStep)) { opt.step(); opt.zero_grad(); }
            prof.EndStep();
            progress.Report((s + 1, steps + 2));
        }
        return prof.Report();
    }
}
