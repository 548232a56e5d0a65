using TorchDoctor.Cli.Rendering;
using System.CommandLine;
using TorchSharp;
using System.Globalization;
using Spectre.Console;
using TorchDoctor.Models;
using TorchDoctor.Observations;
using TorchDoctor.Reporting;
using TorchDoctor.Runtime;
using TorchDoctor.Training;
using static TorchSharp.torch;

namespace TorchDoctor.Cli;

/// <summary>`torchdoctor sanity`.</summary>
public sealed partial class CliApp
{
    private Command SanityCommand()
    {
        var model = new Argument<string>("model") { Description = "A built-in model with an [N, C] classifier output (see `torchdoctor models`), e.g. mnist-cnn, mlp." };
        var batch = new Option<int>("--batch") { Description = "Batch size of the random batch.", DefaultValueFactory = _ => 16 };
        var steps = new Option<int>("--steps") { Description = "Steps of the one-batch overfit.", DefaultValueFactory = _ => 100 };
        var seed = new Option<long>("--seed") { Description = "Seed of the batch and the weights.", DefaultValueFactory = _ => 0 };
        var json = new Option<bool>("--json") { Description = "Print one JSON object." };
        var cmd = new Command("sanity", "Run the checks to do before training on one random batch: loss call, initial loss vs ln C, every parameter gets a gradient, batch independence, one-batch overfit.")
        {
            model, batch, steps, seed, json,
        };
        cmd.SetAction(p =>
        {
            var name = p.GetValue(model)!;
            if (name.StartsWith('-')) throw new UsageException($"unknown option '{name}' (see torchdoctor sanity --help)");
            var entry = ModelZoo.Find(name) ?? throw new UsageException($"unknown model '{name}' (see torchdoctor models)");
            int n = p.GetValue(batch);
            if (n < 2) throw new UsageException("--batch must be at least 2");
            if (p.GetValue(steps) < 1) throw new UsageException("--steps must be positive");
            if (entry.DefaultInputs.Length != 1 || entry.DefaultDTypes[0] != ScalarType.Float32)
                throw new UsageException($"sanity needs a model with one float input; {entry.Name} takes {entry.DefaultInputs.Length} input(s) of {entry.DefaultDTypes[0]}");
            TorchRuntime.EnsureLoaded();
            torch.manual_seed(p.GetValue(seed));
            using var m = entry.Create() as nn.Module<Tensor, Tensor> ?? throw new UsageException($"{entry.Name} does not map one tensor to one tensor");
            using var scope = NewDisposeScope();
            var shape = entry.DefaultInputs[0].ToArray();
            shape[0] = n;
            var x = rand(shape);
            Tensor probe;
            m.eval();
            using (no_grad()) probe = m.call(x.narrow(0, 0, 2));
            if (probe.dim() != 2) throw new UsageException($"sanity needs an [N, C] classifier output; {entry.Name} returns {probe.dim()} dimensions");
            long classes = probe.shape[1];
            var y = randint(classes, [n]);
            var report = SanityChecks.Run(m, x, y, LossKind.CrossEntropy, new SanityOptions { OverfitSteps = p.GetValue(steps) });
            if (p.GetValue(json))
                Out.WriteLine(JsonText.Write(true, w =>
                {
                    w.WriteStartObject();
                    w.WriteString("model", entry.Name);
                    w.WriteNumber("batch", n);
                    w.WriteNumber("classes", classes);
                    if (double.IsFinite(report.FirstLoss)) w.WriteNumber("firstLoss", report.FirstLoss);
                    if (double.IsFinite(report.LastLoss)) w.WriteNumber("lastLoss", report.LastLoss);
                    w.WriteNumber("steps", report.Steps);
                    SummaryJson.WriteFindings(w, report.Findings);
                    w.WriteEndObject();
                }));
            else
            {
                _console.MarkupLine(Markup.Escape(string.Create(CultureInfo.InvariantCulture,
                    $"{entry.Name}: one random batch of {n}, {classes} classes; loss {report.FirstLoss:G4} (ln C = {Math.Log(classes):G4}) → {report.LastLoss:G4} after {report.Steps} steps.")));
                if (report.Findings.Count == 0) _console.MarkupLine("[green]No findings.[/]");
                SummaryConsole.WriteFindings(_console, report.Findings);
            }
            return report.Findings.Count == 0 ? ExitCodes.Ok : ExitCodes.Findings;
        });
        return cmd;
    }
}
