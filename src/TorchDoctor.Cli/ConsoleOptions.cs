using System.CommandLine;
using Spectre.Console;
using TorchDoctor.Findings;
using TorchDoctor.Reporting;

namespace TorchDoctor.Cli;

/// <summary>Options and output shared by the commands: --report, --fail-on, --quiet, --no-color, progress, findings table.</summary>
public sealed partial class CliApp
{
    /// <summary>True with --quiet: only findings, results and errors are printed (no progress, no notes).</summary>
    internal bool Quiet { get; private set; }

    private static Option<string?> ReportOption() => new("--report")
    {
        Description = "Also write a self-contained HTML report (findings, then charts) to this file.",
        HelpName = "FILE",
    };

    private static Option<string?> FailOnOption()
    {
        var o = new Option<string?>("--fail-on")
        {
            Description = "Exit code 1 only when findings at this level or above exist: warning or error (for CI). Default: warning.",
            HelpName = "LEVEL",
        };
        o.AcceptOnlyFromAmong("warning", "error", "info", "never");
        return o;
    }

    /// <summary>Exit code 1 when a finding at <paramref name="failOn"/> (or <paramref name="defaultLevel"/>) or above exists.</summary>
    private static int ExitFor(IEnumerable<Finding> findings, string? failOn, Severity? defaultLevel)
    {
        Severity? level = failOn switch
        {
            null => defaultLevel,
            "never" => null,
            "info" => Severity.Info,
            "warning" => Severity.Warning,
            "error" => Severity.Error,
            _ => throw new UsageException($"--fail-on '{failOn}': use warning, error, info or never"),
        };
        return level is { } l && findings.Any(f => f.Severity >= l) ? ExitCodes.Findings : ExitCodes.Ok;
    }

    /// <summary>Runs <paramref name="work"/> with a progress bar on an interactive console, plainly otherwise.</summary>
    private T WithProgress<T>(string what, bool machineOutput, Func<IProgress<(int Done, int Total)>, T> work)
    {
        if (Quiet || machineOutput || !_interactive) return work(new Progress<(int, int)>(_ => { }));
        T result = default!;
        Console.Progress().AutoClear(true).Columns(new TaskDescriptionColumn(), new ProgressBarColumn(), new PercentageColumn(), new ElapsedTimeColumn())
            .Start(ctx =>
            {
                var task = ctx.AddTask(Markup.Escape(what), maxValue: 1);
                result = work(new SyncProgress(p => { task.MaxValue = Math.Max(1, p.Total); task.Value = p.Done; }));
                task.Value = task.MaxValue;
            });
        return result;
    }

    private sealed class SyncProgress(Action<(int Done, int Total)> report) : IProgress<(int Done, int Total)>
    {
        public void Report((int Done, int Total) value) => report(value);
    }

    /// <summary>A one-line note (grey), unless --quiet.</summary>
    private void Note(string text)
    {
        if (!Quiet) Console.MarkupLine("[grey]note:[/] " + Markup.Escape(text));
    }

    /// <summary>Findings as a table coloured by severity (most severe first), then each one's evidence and fix.</summary>
    internal void FindingsTable(IReadOnlyList<Finding> findings)
    {
        if (findings.Count == 0) return;
        var table = new Table().Border(TableBorder.Rounded).AddColumns("Severity", "Code", "Where", "What");
        foreach (var f in findings.OrderByDescending(f => f.Severity))
        {
            var color = f.Severity switch { Severity.Error => "red", Severity.Warning => "yellow", _ => "blue" };
            var where = (f.Module ?? "") + (f.Step is { } s ? (f.Module is null ? "" : " ") + "step " + s : "");
            table.AddRow($"[{color}]{f.Severity.ToString().ToLowerInvariant()}[/]", $"[{color}]{f.Code}[/] {Markup.Escape(f.Slug)}", Markup.Escape(where), Markup.Escape(f.Message));
        }
        Console.Write(table);
        foreach (var f in findings.OrderByDescending(f => f.Severity))
        {
            Console.MarkupLine($"[bold]{f.Code}[/] [grey]evidence:[/] " + Markup.Escape(string.Join("; ", f.Evidence.Select(e => $"{e.Key}={e.Value}"))));
            Console.MarkupLine("      [green]fix:[/] " + Markup.Escape(f.Advice));
        }
    }

    /// <summary>Writes the HTML report and says where (on stderr when stdout carries JSON).</summary>
    private void WriteReport(ReportModel model, string path, bool machineOutput)
    {
        try
        {
            HtmlReport.Write(model, path);
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException)
        {
            throw new UsageException($"--report {path}: cannot write ({e.Message})");
        }
        if (machineOutput) Err.WriteLine($"torchdoctor: report written to {path}");
        else if (!Quiet) Console.MarkupLine($"[grey]Report:[/] {Markup.Escape(Path.GetFullPath(path))}");
    }
}
