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
        var report = ReportOption();
        var runDir = new Option<string?>("--run-dir") { Description = "Record each training run under DIR/<case>/<run>: JSONL run log and TensorBoard event files.", HelpName = "DIR" };
        var failOn = FailOnOption();
        var cmd = new Command("demo", "Run a worked case study (or `all` of them): a small real training program with a known fault, its findings, and the fix.")
        {
            name, data, steps, seed, noFix, json, report, runDir, failOn,
        };
        cmd.SetAction(p =>
        {
            var caseName = p.GetValue(name);
            if (caseName is null)
            {
                var table = new Table().Border(TableBorder.Simple).AddColumns("Case", "Guide section", "What it shows");
                foreach (var c in DemoCatalog.All) table.AddRow(Markup.Escape(c.Name), Markup.Escape(GuideSection(c.Name)), Markup.Escape(c.Description));
                table.AddRow("all", "every section", "Every case above on generated data, one combined HTML report (--report, default torchdoctor-demo-report.html).");
                Console.Write(table);
                return ExitCodes.Ok;
            }
            if (caseName.StartsWith('-')) throw new UsageException($"unknown option '{caseName}' (see torchdoctor demo --help)");
            bool all = caseName.Equals("all", StringComparison.OrdinalIgnoreCase);
            var demos = all ? DemoCatalog.All : [DemoCatalog.Find(caseName) ?? throw new UsageException(
                $"unknown demo '{caseName}'. Known: {string.Join(", ", DemoCatalog.All.Select(c => c.Name))}, all")];
            var s = p.GetValue(steps);
            if (s is <= 0) throw new UsageException("--steps must be positive");
            TorchRuntime.EnsureLoaded();
            bool asJson = p.GetValue(json);
            var reportPath = p.GetValue(report) ?? (all ? "torchdoctor-demo-report.html" : null);
            var recordRoot = p.GetValue(runDir);
            string? tempRoot = null;
            if (recordRoot is null && reportPath is not null)
                recordRoot = tempRoot = Directory.CreateTempSubdirectory("torchdoctor-demo-").FullName;
            var results = new List<(DemoResult Result, string? Dir)>();
            // On a terminal a progress bar shows the case and its last progress line, and the results follow it;
            // otherwise (a pipe, a file, CI) each case's progress lines and results are printed as they come.
            bool live = _interactive && !asJson && !Quiet;
            try
            {
                void RunCases(Action<string>? status, Action<int>? advanced)
                {
                    foreach (var demo in demos)
                    {
                        var dir = recordRoot is null ? null : Path.Combine(recordRoot, demo.Name);
                        var options = new DemoOptions
                        {
                            // `all` keeps to a few minutes: each case's tour steps (100, or what its finding needs) unless --steps says otherwise.
                            Data = p.GetValue(data)!, Steps = s ?? (all ? demo.TourSteps : null), Seed = p.GetValue(seed), Fix = !p.GetValue(noFix), RunDirectory = dir,
                            Log = status is not null ? line => status($"{demo.Name}: {line}")
                                : asJson || Quiet ? null : line => Console.MarkupLine("[grey]" + Markup.Escape(line) + "[/]"),
                        };
                        status?.Invoke($"{demo.Name} ({GuideSection(demo.Name)})");
                        if (all && !live && !asJson && !Quiet) Console.Write(new Rule($"[bold]{Markup.Escape(demo.Name)}[/] ({Markup.Escape(GuideSection(demo.Name))})").LeftJustified());
                        DemoResult result;
                        try
                        {
                            result = demo.Run(options);
                        }
                        catch (Data.DataUnavailableException e)
                        {
                            throw new UsageException(e.Message);
                        }
                        results.Add((result, dir));
                        if (!asJson && !live) WriteDemo(result);
                        advanced?.Invoke(results.Count);
                    }
                }
                if (live)
                {
                    Console.Progress().AutoClear(true).Columns(new TaskDescriptionColumn { Alignment = Justify.Left }, new ProgressBarColumn(), new PercentageColumn(), new ElapsedTimeColumn())
                        .Start(ctx =>
                        {
                            var task = ctx.AddTask("demo", maxValue: demos.Count);
                            RunCases(line => task.Description = Markup.Escape(line.Length > 70 ? line[..67] + "…" : line), done => task.Value = done);
                        });
                    foreach (var (result, _) in results)
                    {
                        if (all) Console.Write(new Rule($"[bold]{Markup.Escape(result.Case)}[/] ({Markup.Escape(GuideSection(result.Case))})").LeftJustified());
                        WriteDemo(result);
                    }
                }
                else RunCases(null, null);
                if (asJson) Out.WriteLine(results.Count == 1 ? new DemoJsonExporter().Render(results[0].Result) : "[" + string.Join(",\n", results.Select(r => new DemoJsonExporter().Render(r.Result))) + "]");
                if (reportPath is not null)
                {
                    var reportModel = DemoReport(results, p.GetValue(data)!, p.GetValue(seed));
                    // The report also shows the demos' CNN: its model table and a profile of its training step.
                    WithProgress("profiling the demos' CNN", asJson, progress => { AddDemoModel(reportModel, progress); return 0; });
                    WriteReport(reportModel, reportPath, asJson);
                }
            }
            finally
            {
                if (tempRoot is not null) try { Directory.Delete(tempRoot, true); } catch (IOException) { }
            }
            return ExitFor(results.SelectMany(r => r.Result.Findings), p.GetValue(failOn), defaultLevel: null);
        });
        return cmd;
    }

    /// <summary>The guide section (docs/guide.md) a demo case illustrates.</summary>
    internal static string GuideSection(string demo) => demo switch
    {
        "clean" => "1 Basics: a healthy baseline",
        "exploding-gradients" => "2 Common problems: exploding gradients",
        "vanishing-gradients" => "2 Common problems: vanishing gradients",
        "dead-relu" => "2 Common problems: dead ReLUs",
        "nan-origin" => "2 Common problems: NaN/Inf",
        "bad-data" => "3 Data loading",
        "overfitting" => "9 Case studies: overfitting",
        "slow-convergence" => "9 Case studies: slow convergence",
        _ when demo.Contains("shape", StringComparison.Ordinal) => "4 Shapes",
        _ when demo.Contains("leak", StringComparison.Ordinal) || demo.Contains("memory", StringComparison.Ordinal) => "6 Memory",
        _ when demo.Contains("profil", StringComparison.Ordinal) => "5 Hooks and profiling",
        _ => "9 Case studies",
    };

    private ReportModel DemoReport(List<(DemoResult Result, string? Dir)> results, string data, long seed)
    {
        var model = new ReportModel
        {
            Title = results.Count == 1 ? $"TorchDoctor demo: {results[0].Result.Case}" : "TorchDoctor guided tour: every demo case",
            Subtitle = $"data {data}, seed {seed}; findings of each faulty run, then each run's curves",
        };
        foreach (var (r, _) in results) model.Findings.AddRange(r.Findings);
        foreach (var (r, dir) in results)
        {
            if (dir is null || !Directory.Exists(dir)) continue;
            try
            {
                // The faulty run first, then its fix (the directories sort "after" before "before").
                foreach (var log in Logs.LogDirectory.Read(dir).OrderBy(l => l.Name.StartsWith("before", StringComparison.Ordinal) ? 0 : 1))
                {
                    var run = Logs.LogAnalysis.Analyze(log, displayName: $"{r.Case} / {log.Name}");
                    model.Runs.Add(ReportRun.From(run));
                    foreach (var n in run.Notes.Where(n => !n.Contains("no validation-loss", StringComparison.Ordinal))) model.Notes.Add(n);
                }
            }
            catch (Logs.LogNotFoundException) { }   // a case without training runs (none today)
        }
        var rows = new List<IReadOnlyList<string>>();
        foreach (var (r, _) in results)
            foreach (var run in new[] { r.Before, r.After }.Where(x => x is not null).Select(x => x!))
                rows.Add([r.Case, GuideSection(r.Case), run.Label,
                    run.Metrics.TryGetValue("finalLoss", out var fl) ? FormatMetric(fl) : "--",
                    run.Metrics.TryGetValue("testAccuracy", out var acc) ? FormatMetric(acc) : run.Metrics.TryGetValue("accuracy", out var a2) ? FormatMetric(a2) : "--",
                    run.Findings.Count == 0 ? "none" : string.Join(", ", run.Findings.Select(f => f.Code).Distinct())]);
        model.Tables.Add(new ReportTable("Runs before and after each fix", ["Case", "Guide section", "Run", "Final loss", "Accuracy", "Findings"], rows));
        if (data == "generated")
        {
            using var d = Training.DemoData.Generated(512, seed);
            model.SampleGrids.Add(ReportModels.Grid(d.SamplesPerClass(), $"Training samples per class ({d.Name}, as the model receives them)"));
        }
        return model;
    }

    /// <summary>The demos' CNN (mnist-cnn) at batch 64: its model table (summary) and the profile of 3 SGD training steps.</summary>
    private static void AddDemoModel(ReportModel model, IProgress<(int Done, int Total)> progress)
    {
        const int batch = 64, steps = 3;
        var entry = Models.ModelZoo.Find("mnist-cnn") ?? throw new InvalidOperationException("the demo CNN is missing from the model zoo");
        long[] shape = [batch, 1, 28, 28];
        using (var m = entry.Create())
        {
            var summary = Inspection.ModelSummary.Run(m, new Inspection.SummaryOptions { InputShapes = [shape], MeasureMemory = false });
            model.Tables.Insert(0, ReportModels.ModelTable(summary, title: $"Model: the demos' CNN (mnist-cnn), input [{string.Join(", ", shape)}]"));
        }
        TorchSharp.torch.manual_seed(0);
        using var cnn = (TorchSharp.torch.nn.Module<TorchSharp.torch.Tensor, TorchSharp.torch.Tensor>)entry.Create();
        using var scope = TorchSharp.torch.NewDisposeScope();
        var x = TorchSharp.torch.rand(shape);
        var y = TorchSharp.torch.randint(0, 10, [batch]);
        var profile = ProfileTraining(cnn, x, o => TorchSharp.torch.nn.functional.cross_entropy(o, y), steps, progress);
        model.Profiles.Add(ReportProfile.From(profile, $"the demos' CNN (mnist-cnn), batch {batch}, {steps} SGD steps"));
    }

    private void WriteDemo(DemoResult r)
    {
        Console.Write(new Rule($"[bold]{Markup.Escape(r.Case)}[/]: " + (r.Faulty ? "findings of the faulty run" : "findings of a healthy run (there should be none)")).LeftJustified());
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
