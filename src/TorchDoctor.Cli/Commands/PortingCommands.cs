using System.CommandLine;
using System.Globalization;
using TorchDoctor.Inspection;
using TorchDoctor.Models;
using TorchDoctor.Porting;
using TorchDoctor.Reporting;
using TorchDoctor.Runtime;
using Module = TorchSharp.torch.nn.Module;

namespace TorchDoctor.Cli;

/// <summary>`torchdoctor print` and `torchdoctor compare`.</summary>
public sealed partial class CliApp
{
    private Command PrintCommand()
    {
        var file = new Argument<string?>("file") { Description = "A TorchScript file (.pt) to print instead of --model.", Arity = ArgumentArity.ZeroOrOne };
        var model = new Option<string?>("--model", "-m") { Description = "A model name (see `torchdoctor models`)." };
        var expand = new Option<bool>("--expand-module-lists") { Description = "List every ModuleList item, as PyTorch 1.x prints (PyTorch 2.x groups identical runs: (0-3): 4 x ...)." };
        var cmd = new Command("print", "Print a model exactly as PyTorch's print(model) does, so a port's text can be diffed against its original.")
        {
            file, model, expand,
        };
        cmd.SetAction(p =>
        {
            using var m = ModelFrom(p.GetValue(file), p.GetValue(model), "print");
            Out.WriteLine(ModelPrinter.Print(m.Model, new PrintOptions { CompactModuleLists = !p.GetValue(expand) }));
            return ExitCodes.Ok;
        });
        return cmd;
    }

    private Command CompareCommand()
    {
        var model = new Option<string?>("--model", "-m") { Description = "The C# port: a model name (see `torchdoctor models`)." };
        var print = new Option<string?>("--pytorch-print") { Description = "A text file holding PyTorch's print(model) output." };
        var checkpoint = new Option<string?>("--pytorch") { Description = "PyTorch weights: a state_dict saved with torch.save (.pt/.pth) or a .safetensors file." };
        var reference = new Option<string?>("--reference") { Description = "torch.save({\"input\": x, \"output\": y[, \"layers\": {path: output}]}) (or safetensors): compares the port's output with PyTorch's." };
        var tolerance = new Option<string>("--tolerance") { Description = "Largest accepted relative error, max|Δ| / max|expected| (default 1e-5).", DefaultValueFactory = _ => "1e-5" };
        var perLayer = new Option<bool>("--per-layer") { Description = "Compare every layer's output with the reference's \"layers\" and name the first that diverges." };
        var json = new Option<bool>("--json") { Description = "Print one JSON object." };
        var cmd = new Command("compare", "Check a C# port against its PyTorch original: printed structure, state_dict and numbers. Exit 0 when they match, 1 when they differ, 2 on bad input.")
        {
            model, print, checkpoint, reference, tolerance, perLayer, json,
        };
        cmd.SetAction(p =>
        {
            var name = p.GetValue(model) ?? throw new UsageException("give the port with --model <name> (see torchdoctor models)");
            var options = new PortingOptions
            {
                PyTorchPrintPath = p.GetValue(print),
                CheckpointPath = p.GetValue(checkpoint),
                ReferencePath = p.GetValue(reference),
                Tolerance = ParseTolerance(p.GetValue(tolerance)!),
                PerLayer = p.GetValue(perLayer),
            };
            if (options.PyTorchPrintPath is null && options.CheckpointPath is null && options.ReferencePath is null)
                throw new UsageException("nothing to compare with: give --pytorch-print <print.txt>, --pytorch <state_dict.pt|.safetensors> and/or --reference <ref.pt>");
            if (options.PerLayer && options.ReferencePath is null)
                throw new UsageException("--per-layer needs --reference <ref.pt> with intermediate outputs under \"layers\"");
            using var m = ModelFrom(null, name, "compare");
            PortingReport report;
            try
            {
                report = PortingCheck.Run(m.Model, options, name);
            }
            catch (PrintFormatException e)
            {
                throw new UsageException(e.Message);
            }
            if (p.GetValue(json)) Out.WriteLine(new PortingJsonExporter().Render(report));
            else new PortingTextExporter().Export(report, Out);
            return report.Matches ? ExitCodes.Ok : ExitCodes.Findings;
        });
        return cmd;
    }

    private static double ParseTolerance(string text)
    {
        if (!double.TryParse(text, NumberStyles.Float, CultureInfo.InvariantCulture, out var t) || !(t >= 0) || double.IsInfinity(t))
            throw new UsageException($"--tolerance '{text}' is not a non-negative number (e.g. 1e-5)");
        return t;
    }

    private sealed class OwnedModel(Module model) : IDisposable
    {
        public Module Model { get; } = model;
        public void Dispose() => Model.Dispose();
    }

    private static OwnedModel ModelFrom(string? path, string? name, string command)
    {
        if (path is not null && path.StartsWith('-'))
            throw new UsageException($"unknown option '{path}' (see torchdoctor {command} --help)");
        if (path is null == name is null)
            throw new UsageException(path is null ? "give --model <name> or a TorchScript file (see torchdoctor models)" : "give either --model or a file, not both");
        if (name is not null)
        {
            var entry = ModelZoo.Find(name) ?? throw new UsageException($"unknown model '{name}'. Known: {string.Join(", ", ModelZoo.All.Keys)}");
            TorchRuntime.EnsureLoaded();
            return new OwnedModel(entry.Create());
        }
        return new OwnedModel(TorchScriptLoader.Load(path!, 1));
    }
}
