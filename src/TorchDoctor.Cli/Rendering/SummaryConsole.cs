using Spectre.Console;
using TorchDoctor.Reporting;
using TorchDoctor.Findings;
using TorchDoctor.Inspection;
using TorchDoctor.Probes;

namespace TorchDoctor.Cli.Rendering;

/// <summary>Console sink: the summary as a Spectre.Console table (or tree), totals, failure and findings.</summary>
public static class SummaryConsole
{
    /// <summary>Writes the report as a table with one row per module call.</summary>
    public static void WriteTable(IAnsiConsole console, SummaryReport r, SummaryExportSettings s)
    {
        var cols = SummaryFormat.Columns(s.Columns);
        var table = new Table().Border(TableBorder.Simple).Title($"[bold]{Markup.Escape(r.ModelName)}[/] ({(r.TrainMode ? "train" : "eval")} mode)");
        table.AddColumn("Layer (type:depth-idx)");
        table.AddColumn("Path");
        foreach (var c in cols) table.AddColumn(new TableColumn(c.Header).RightAligned());
        foreach (var (i, row) in SummaryFormat.VisibleRows(r, s))
        {
            var label = Markup.Escape(SummaryFormat.TreePrefix(row.Depth) + row.Label);
            if (row.Failed) label = $"[red]{label}[/]";
            else if (!row.Ran) label = $"[grey]{label}[/]";
            var cells = new List<string> { label, $"[grey]{Markup.Escape(row.Path)}[/]" };
            cells.AddRange(cols.Select(c => Markup.Escape(SummaryFormat.Cell(r, s, i, c.Column))));
            table.AddRow(cells.ToArray());
        }
        console.Write(table);
        WriteFooter(console, r);
    }

    /// <summary>Writes the report as a module tree (one node per module call).</summary>
    public static void WriteTree(IAnsiConsole console, SummaryReport r, SummaryExportSettings s)
    {
        var tree = new Tree($"[bold]{Markup.Escape(r.ModelName)}[/]");
        var stack = new Stack<(int Depth, IHasTreeNodes Node)>();
        stack.Push((0, tree));
        foreach (var (i, row) in SummaryFormat.VisibleRows(r, s))
        {
            if (row.Depth == 0) continue;
            while (stack.Peek().Depth >= row.Depth) stack.Pop();
            var text = $"{Markup.Escape(row.Label)} [grey]{Markup.Escape(row.Path)}[/] → {Markup.Escape(SummaryFormat.Cell(r, s, i, SummaryColumns.OutputShape))}" +
                       $"  [blue]{Markup.Escape(SummaryFormat.Cell(r, s, i, SummaryColumns.Params))}[/] params";
            var node = stack.Peek().Node.AddNode(row.Failed ? $"[red]{text}[/]" : text);
            stack.Push((row.Depth, node));
        }
        console.Write(tree);
        WriteFooter(console, r);
    }

    private static void WriteFooter(IAnsiConsole console, SummaryReport r)
    {
        var grid = new Grid().AddColumn().AddColumn();
        foreach (var line in SummaryFormat.Totals(r).Concat(SummaryFormat.Sizes(r)))
        {
            var k = line.IndexOf(": ", StringComparison.Ordinal);
            grid.AddRow(Markup.Escape(line[..k]), Markup.Escape(line[(k + 2)..]));
        }
        console.Write(grid);
        if (r.NeverRan.Count > 0)
            console.MarkupLine($"[yellow]Modules that never ran:[/] {Markup.Escape(string.Join(", ", r.NeverRan))}");
        if (r.Failure is { } f)
        {
            var body = string.Join("\n", SummaryText.FailureLines(f).Skip(1).Select(Markup.Escape));
            console.Write(new Panel(body).Header($"[red]Forward pass failed in {Markup.Escape(f.Module)} ({Markup.Escape(f.ModuleType)})[/]").BorderColor(Color.Red));
        }
        WriteFindings(console, r.Findings);
    }

    /// <summary>Writes findings, most severe first.</summary>
    public static void WriteFindings(IAnsiConsole console, IEnumerable<Finding> findings)
    {
        foreach (var f in findings.OrderByDescending(f => f.Severity))
        {
            var color = f.Severity switch { Severity.Error => "red", Severity.Warning => "yellow", _ => "blue" };
            console.MarkupLine($"[{color}]{f.Code} {f.Slug}[/] [bold]{Markup.Escape(f.Module ?? "")}[/]: {Markup.Escape(f.Message)}");
            if (f.Evidence.Count > 0)
                console.MarkupLine("    [grey]evidence:[/] " + Markup.Escape(string.Join("; ", f.Evidence.Select(e => $"{e.Key}={e.Value}"))));
            console.MarkupLine("    [green]fix:[/] " + Markup.Escape(f.Advice));
        }
    }
}
