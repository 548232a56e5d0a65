using TorchDoctor.Observations;
using System.CommandLine;
using System.Globalization;
using Spectre.Console;
using TorchDoctor.Findings;
using TorchDoctor.Logs;
using TorchDoctor.Reporting;

namespace TorchDoctor.Cli;

/// <summary>`torchdoctor analyze`.</summary>
public sealed partial class CliApp
{
    private Command AnalyzeCommand()
    {
        var paths = new Argument<string[]>("logdir") { Description = "TensorBoard log directories (any framework), event files or TorchDoctor run logs (run.jsonl); several are compared side by side.", Arity = ArgumentArity.OneOrMore };
        var trainTag = new Option<string?>("--train-tag") { Description = "The training-loss tag (default: found by common names: train/loss, loss, Loss/train, train_loss, ...)." };
        var valTag = new Option<string?>("--val-tag") { Description = "The validation-loss tag (default: found by common names: val/loss, val_loss, Loss/validation, test_loss, ...)." };
        var json = new Option<bool>("--json") { Description = "Print one JSON object (runs, curves found, findings in the shared findings format)." };
        var report = ReportOption();
        var failOn = FailOnOption();
        var cmd = new Command("analyze", "Read training logs and report overfitting onset, divergence, plateaus and oscillation; compare runs.")
        {
            paths, trainTag, valTag, json, report, failOn,
        };
        cmd.SetAction(p =>
        {
            var list = p.GetValue(paths) ?? [];
            bool asJson = p.GetValue(json);
            IReadOnlyList<RunAnalysis> runs;
            try
            {
                runs = WithProgress("reading logs", asJson, progress => LogAnalysis.Analyze(list, p.GetValue(trainTag), p.GetValue(valTag), progress: progress));
            }
            catch (LogNotFoundException e)
            {
                throw new UsageException(e.Message);
            }
            var findings = runs.SelectMany(r => r.Findings).ToList();
            if (asJson) Out.WriteLine(AnalyzeJson(runs));
            else WriteAnalysis(runs);
            if (p.GetValue(report) is { } path)
            {
                var model = new ReportModel { Title = "TorchDoctor: training log analysis", Subtitle = string.Join(", ", list) };
                model.Findings.AddRange(findings);
                foreach (var r in runs) model.Runs.Add(ReportRun.From(r));
                WriteReport(model, path, asJson);
            }
            return ExitFor(findings, p.GetValue(failOn), defaultLevel: Severity.Warning);
        });
        return cmd;
    }

    private void WriteAnalysis(IReadOnlyList<RunAnalysis> runs)
    {
        var table = new Table().Border(TableBorder.Simple).AddColumns("Run", "Train loss", "Val loss", "Points", "Best val (step)", "Last train", "Last val", "Findings");
        static string F(double v) => v.ToString("G4", CultureInfo.InvariantCulture);
        foreach (var r in runs)
        {
            var c = r.Curves;
            var best = c.ValLoss.Count == 0 ? "--" : c.ValLoss.MinBy(x => x.Value) is var b ? $"{F(b.Value)} ({b.Step})" : "--";
            table.AddRow(
                Markup.Escape(c.Run),
                Markup.Escape(c.TrainLossTag ?? "--"),
                Markup.Escape(c.ValLossTag ?? "--"),
                (c.TrainLoss.Count + c.ValLoss.Count).ToString(CultureInfo.InvariantCulture),
                best,
                c.TrainLoss.Count == 0 ? "--" : F(c.TrainLoss[^1].Value),
                c.ValLoss.Count == 0 ? "--" : F(c.ValLoss[^1].Value),
                r.Findings.Count == 0 ? "[green]none[/]" : Markup.Escape(string.Join(", ", r.Findings.Select(f => f.Slug + (f.Step is { } s ? $" @{s}" : "")))));
        }
        Console.Write(table);
        foreach (var n in runs.SelectMany(r => r.Notes)) Note(n);
        var findings = runs.SelectMany(r => r.Findings).ToList();
        if (findings.Count == 0) Console.MarkupLine("[green]No findings.[/]");
        else FindingsTable(findings);
    }

    internal static string AnalyzeJson(IReadOnlyList<RunAnalysis> runs) => JsonText.Write(true, w =>
    {
        w.WriteStartObject();
        w.WriteStartArray("runs");
        foreach (var r in runs)
        {
            var c = r.Curves;
            w.WriteStartObject();
            w.WriteString("name", c.Run);
            w.WriteString("path", r.Log.Path);
            w.WriteNumber("records", r.Log.Records);
            w.WriteNumber("scalars", r.Log.ScalarCount);
            w.WriteStartObject("tags");
            void Tag(string name, string? tag, IReadOnlyList<ScalarPoint> s)
            {
                if (tag is null) { w.WriteNull(name); return; }
                w.WriteStartObject(name);
                w.WriteString("tag", tag);
                w.WriteNumber("points", s.Count);
                if (s.Count > 0)
                {
                    if (double.IsFinite(s[^1].Value)) w.WriteNumber("last", s[^1].Value); else w.WriteString("last", s[^1].Value.ToString(CultureInfo.InvariantCulture));
                    w.WriteNumber("lastStep", s[^1].Step);
                }
                w.WriteEndObject();
            }
            Tag("trainLoss", c.TrainLossTag, c.TrainLoss);
            Tag("valLoss", c.ValLossTag, c.ValLoss);
            Tag("trainAccuracy", c.TrainAccuracyTag, c.TrainAccuracy);
            Tag("valAccuracy", c.ValAccuracyTag, c.ValAccuracy);
            w.WriteEndObject();
            if (r.OverfittingOnset is { } onset) w.WriteNumber("overfittingOnset", onset); else w.WriteNull("overfittingOnset");
            w.WriteStartArray("notes");
            foreach (var n in r.Notes) w.WriteStringValue(n);
            w.WriteEndArray();
            w.WriteStartArray("problems");
            foreach (var pr in r.Log.Problems) w.WriteStringValue(pr.ToString());
            w.WriteEndArray();
            SummaryJson.WriteFindings(w, r.Findings);
            w.WriteEndObject();
        }
        w.WriteEndArray();
        SummaryJson.WriteFindings(w, runs.SelectMany(r => r.Findings));
        w.WriteEndObject();
    });
}
