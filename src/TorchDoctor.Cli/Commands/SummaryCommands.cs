using TorchDoctor.Cli.Rendering;
using System.CommandLine;
using Spectre.Console;
using TorchDoctor.Inspection;
using TorchDoctor.Models;
using TorchDoctor.Reporting;
using TorchDoctor.Runtime;
using static TorchSharp.torch;
using Module = TorchSharp.torch.nn.Module;

namespace TorchDoctor.Cli;

/// <summary>`torchdoctor summary` and `torchdoctor models`.</summary>
public sealed partial class CliApp
{
    private Command ModelsCommand()
    {
        var cmd = new Command("models", "List the model names --model accepts, with their default inputs.");
        cmd.SetAction(_ =>
        {
            var table = new Table().Border(TableBorder.Simple).AddColumns("Name", "Default input", "Description");
            foreach (var e in ModelZoo.All.Values)
                table.AddRow(Markup.Escape(e.Name), Markup.Escape(string.Join(" ", e.DefaultInputs.Select((s, i) => string.Join(",", s) + (e.DefaultDTypes[i] == ScalarType.Float32 ? "" : " " + e.DefaultDTypes[i])))), Markup.Escape(e.Description));
            _console.Write(table);
            return ExitCodes.Ok;
        });
        return cmd;
    }

    private Command SummaryCommand()
    {
        var file = new Argument<string?>("file") { Description = "A TorchScript file (.pt) to summarise instead of --model.", Arity = ArgumentArity.ZeroOrOne };
        var model = new Option<string?>("--model", "-m") { Description = "A TorchVision architecture (resnet18, vgg16, alexnet, mobilenet_v2, googlenet, inception_v3, ...) or a built-in sample (see `torchdoctor models`)." };
        var input = new Option<string[]>("--input", "-i") { Description = "Input shape, e.g. 1,3,224,224; repeat for several inputs. Default: the model's usual input.", Arity = ArgumentArity.OneOrMore, AllowMultipleArgumentsPerToken = false };
        var dtype = new Option<string[]>("--dtype") { Description = "Input dtype per --input: float32 (default), float64, float16, bfloat16, long (int64), int (int32), uint8, bool.", Arity = ArgumentArity.OneOrMore };
        var depth = new Option<int>("--depth", "-d") { Description = "Rows deeper than this are hidden (totals still count them).", DefaultValueFactory = _ => 3 };
        var mode = new Option<string>("--mode") { Description = "eval (default) or train.", DefaultValueFactory = _ => "eval" };
        mode.AcceptOnlyFromAmong("eval", "train");
        var batchDim = new Option<int?>("--batch-dim") { Description = "The shapes exclude the batch; insert a batch of 1 at this index (torchinfo's batch_dim)." };
        var columns = new Option<string?>("--columns") { Description = "Comma-separated columns: input,output,params,percent,trainable,kernel,mult-adds,time, or all." };
        var format = new Option<string>("--format") { Description = "table (default), tree or text.", DefaultValueFactory = _ => "table" };
        format.AcceptOnlyFromAmong("table", "tree", "text");
        var json = new Option<bool>("--json") { Description = "Print one JSON object instead of the table." };
        var noMeasure = new Option<bool>("--no-measure") { Description = "Skip the measured forward+backward step (faster for very large models)." };
        var maxMemory = MaxMemoryOption();
        var htmlReport = ReportOption();
        var cmd = new Command("summary", "Run one forward pass with probes and print a layer-by-layer summary; explain the failure if the pass fails.")
        {
            file, model, input, dtype, depth, mode, batchDim, columns, format, json, noMeasure, maxMemory, htmlReport,
        };
        cmd.SetAction(p =>
        {
            var path = p.GetValue(file);
            var name = p.GetValue(model);
            if (path is not null && path.StartsWith('-'))
                throw new UsageException($"unknown option '{path}' (see torchdoctor summary --help)");
            if (path is null == name is null)
                throw new UsageException(path is null ? "give --model <name> or a TorchScript file (see torchdoctor models)" : "give either --model or a file, not both");
            var shapes = (p.GetValue(input) ?? []).Select(ParseShape).ToList();
            var bd = p.GetValue(batchDim);
            if (bd is { } b && shapes.Any(sh => b < 0 || b > sh.Length))
                throw new UsageException($"--batch-dim {b} is not a place for a batch dimension in {string.Join(", ", shapes.Select(sh => "[" + string.Join(", ", sh) + "]"))}: give 0..{shapes.Min(sh => sh.Length)} (0 puts the batch first)");
            if (bd is { } b2 && shapes.Count == 0 && b2 < 0)
                throw new UsageException($"--batch-dim {b2} must be 0 or more");
            bool defaultShapes = shapes.Count == 0;
            var dtypes = (p.GetValue(dtype) ?? []).Select(ParseDType).ToList();
            Module m;
            ZooEntry? entry = null;
            if (name is not null)
            {
                entry = ModelZoo.Find(name) ?? throw new UsageException(
                    $"unknown model '{name}'. Known: {string.Join(", ", ModelZoo.All.Keys)}");
                TorchRuntime.EnsureLoaded();
                m = entry.Create();
                if (shapes.Count == 0) { shapes = entry.DefaultInputs.ToList(); if (dtypes.Count == 0) dtypes = entry.DefaultDTypes.ToList(); }
            }
            else
            {
                if (shapes.Count == 0) throw new UsageException("a TorchScript file needs --input (e.g. --input 1,3,224,224)");
                m = TorchScriptLoader.Load(path!, shapes.Count);
            }
            if (dtypes.Count > shapes.Count) throw new UsageException($"{dtypes.Count} --dtype values for {shapes.Count} --input shapes");
            var options = new SummaryOptions
            {
                InputShapes = shapes,
                InputDTypes = dtypes,
                TrainMode = p.GetValue(mode) == "train",
                // The built-in defaults already have their batch: --batch-dim applies to shapes given with --input.
                BatchDim = defaultShapes ? null : bd,
                MaxMemoryBytes = ParseMaxMemory(p.GetValue(maxMemory)),
                MeasureMemory = !p.GetValue(noMeasure),
            };
            var display = new SummaryExportSettings { Depth = p.GetValue(depth), Columns = ParseColumns(p.GetValue(columns)) };
            if (display.Depth < 0) throw new UsageException("--depth must be 0 or more");
            SummaryReport report;
            using (m)
            {
                report = ModelSummary.Run(m, options);
                if (path is not null) report = report with { ModelName = Path.GetFileName(path) };
            }
            if (p.GetValue(json)) _out.WriteLine(new SummaryJsonExporter().Render(report));
            else if (p.GetValue(format) == "text") new SummaryTextExporter(display).Export(report, _out);
            else if (p.GetValue(format) == "tree") SummaryConsole.WriteTree(_console, report, display);
            else SummaryConsole.WriteTable(_console, report, display);
            if (p.GetValue(htmlReport) is { } reportPath) WriteReport(ReportModels.From(report, display.Depth), reportPath, p.GetValue(json));
            if (!report.Succeeded)
            {
                if (p.GetValue(json)) _err.WriteLine($"torchdoctor: the forward pass failed in {report.Failure!.Module}: {report.Failure.Fix}");
                return ExitCodes.ForwardFailed;
            }
            return ExitCodes.Ok;
        });
        return cmd;
    }

}
