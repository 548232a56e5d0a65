using TorchDoctor.Cli.Rendering;
using System.CommandLine;
using System.Globalization;
using Spectre.Console;
using TorchDoctor.Demos;
using TorchDoctor.Reporting;
using TorchDoctor.Runtime;

namespace TorchDoctor.Cli;

/// <summary>`torchdoctor demo`.</summary>
public sealed partial class CliApp
{
    private Command DemoCommand()
    {
        var name = new Argument<string?>("case") { Description = "The case to run; omit to list them.", Arity = ArgumentArity.ZeroOrOne };
        var data = new Option<string>("--data") { Description = "generated (default, built in) or fashion-mnist (Debian package dataset-fashion-mnist).", DefaultValueFactory = _ => "generated" };
        data.AcceptOnlyFromAmong("generated", "fashion-mnist");
        var steps = new Option<int?>("--steps") { Description = "Training steps (default: the case's own)." };
        var seed = new Option<long>("--seed") { Description = "Seed for weights, data and shuffling.", DefaultValueFactory = _ => 0 };
        var noFix = new Option<bool>("--no-fix") { Description = "Only the faulty run: do not apply the remedy." };
        var json = new Option<bool>("--json") { Description = "Print one JSON object." };
        var cmd = new Command("demo", "Run a worked case study: a small real training program with a known fault, its findings, and the fix.")
        {
            name, data, steps, seed, noFix, json,
        };
        cmd.SetAction(p =>
        {
            var caseName = p.GetValue(name);
            if (caseName is null)
            {
                var table = new Table().Border(TableBorder.Simple).AddColumns("Case", "What it shows");
                foreach (var c in DemoCatalog.All) table.AddRow(Markup.Escape(c.Name), Markup.Escape(c.Description));
                Console.Write(table);
                return ExitCodes.Ok;
            }
            if (caseName.StartsWith('-')) throw new UsageException($"unknown option '{caseName}' (see torchdoctor demo --help)");
            var demo = DemoCatalog.Find(caseName) ?? throw new UsageException(
                $"unknown demo '{caseName}'. Known: {string.Join(", ", DemoCatalog.All.Select(c => c.Name))}");
            var s = p.GetValue(steps);
            if (s is <= 0) throw new UsageException("--steps must be positive");
            TorchRuntime.EnsureLoaded();
            bool asJson = p.GetValue(json);
            var options = new DemoOptions
            {
                Data = p.GetValue(data)!, Steps = s, Seed = p.GetValue(seed), Fix = !p.GetValue(noFix),
                Log = asJson ? null : line => Console.MarkupLine("[grey]" + Markup.Escape(line) + "[/]"),
            };
            DemoResult result;
            try
            {
                result = demo.Run(options);
            }
            catch (Data.DataUnavailableException e)
            {
                throw new UsageException(e.Message);
            }
            if (asJson) Out.WriteLine(new DemoJsonExporter().Render(result));
            else WriteDemo(result);
            return ExitCodes.Ok;
        });
        return cmd;
    }

    private void WriteDemo(DemoResult r)
    {
        Console.Write(new Rule($"[bold]{Markup.Escape(r.Case)}[/]: findings of the faulty run").LeftJustified());
        if (r.Findings.Count == 0) Console.MarkupLine("[green]No findings.[/]");
        SummaryConsole.WriteFindings(Console, r.Findings);
        var runs = new[] { r.Before, r.After }.Where(x => x is not null).Select(x => x!).ToList();
        var table = new Table().Border(TableBorder.Simple).AddColumn("Metric");
        foreach (var run in runs) table.AddColumn(new TableColumn(Markup.Escape(run.Label)).RightAligned());
        foreach (var key in runs.SelectMany(x => x.Metrics.Keys).Distinct())
            table.AddRow([Markup.Escape(key), .. runs.Select(x => x.Metrics.TryGetValue(key, out var v) ? FormatMetric(v) : "--")]);
        table.AddRow(["findings", .. runs.Select(x => x.Findings.Count == 0 ? "none" : Markup.Escape(string.Join(", ", x.Findings.Select(f => f.Code).Distinct())))]);
        Console.Write(table);
        if (r.After is not null) Console.MarkupLine("[green]Remedy:[/] " + Markup.Escape(r.Remedy));
    }

    private static string FormatMetric(double v) => double.IsNaN(v) ? "NaN" : double.IsInfinity(v) ? (v > 0 ? "inf" : "-inf")
        : Math.Abs(v) >= 1e5 || (Math.Abs(v) < 1e-3 && v != 0) ? v.ToString("0.###e+0", CultureInfo.InvariantCulture) : v.ToString("0.####", CultureInfo.InvariantCulture);
}
