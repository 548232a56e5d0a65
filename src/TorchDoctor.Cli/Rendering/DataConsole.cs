using TorchDoctor.Observations;
using System.Globalization;
using Spectre.Console;
using TorchDoctor.Reporting;
using TorchDoctor.Data;
using TorchDoctor.Detectors;

namespace TorchDoctor.Cli.Rendering;

/// <summary>Console sink for data checks: per split a field table and the class histogram, then duplicates, leakage and findings.</summary>
public static class DataConsole
{
    /// <summary>Writes the report. <paramref name="classNames"/> labels the class rows when known.</summary>
    public static void Write(IAnsiConsole console, DataCheckReport r, string title, IReadOnlyList<string>? classNames = null)
    {
        console.Write(new Rule($"[bold]{Markup.Escape(title)}[/]").LeftJustified());
        foreach (var s in r.Splits)
        {
            console.MarkupLine($"[bold]{Markup.Escape(s.Name)}[/]: {s.DatasetSize:N0} samples" +
                (s.Samples < s.DatasetSize ? $", a seeded random sample of {s.Samples:N0} checked" : ", all checked") +
                (s.Failures.Count > 0 ? $", [red]{s.Failures.Count:N0} unreadable[/]" : ""));
            var t = new Table().Border(TableBorder.Simple)
                .AddColumns("Field", "Role", "dtype", "Shape")
                .AddColumn(new TableColumn("Mean").RightAligned()).AddColumn(new TableColumn("Std").RightAligned())
                .AddColumn(new TableColumn("Min").RightAligned()).AddColumn(new TableColumn("Max").RightAligned())
                .AddColumn(new TableColumn("NaN/Inf").RightAligned()).AddColumn("Verdict");
            foreach (var f in s.Fields)
            {
                bool img = f.Role == FieldRole.Image;
                string mean = img && f.ChannelMean.Count > 1 ? string.Join(", ", f.ChannelMean.Select(F4)) : F4(f.Mean);
                string std = img && f.ChannelStd.Count > 1 ? string.Join(", ", f.ChannelStd.Select(F4)) : F4(f.Std);
                string shape = DataDetectors.ShapeText(f.Shape) + (f.OtherShapes.Count > 0 ? $" (+{f.OtherShapes.Count} other)" : "");
                string verdict = img ? DataDetectors.ImageVerdict(f) + (f.Layout is null ? "" : ", " + f.Layout) : f.Role == FieldRole.Label ? "labels" : "";
                t.AddRow(Markup.Escape(f.Name), f.Role.ToString().ToLowerInvariant(), Markup.Escape(f.DType + (f.OtherDTypes.Count > 0 ? " (+other)" : "")),
                    Markup.Escape(shape), mean, std, F4(f.Min), F4(f.Max),
                    f.NonFinite == 0 ? "0" : $"[red]{f.NonFinite:N0}[/]", Markup.Escape(verdict));
            }
            console.Write(t);
            if (s.Labels is { } l && l.Histogram.Count > 0)
            {
                int count = l.Classes ?? DataDetectors.InferredClasses(l) ?? 0;
                var ct = new Table().Border(TableBorder.Simple).AddColumn("Class").AddColumn(new TableColumn("Samples").RightAligned()).AddColumn(new TableColumn("Share").RightAligned());
                // Seen labels; empty classes get rows only when there are few classes (else one line says how many are empty).
                var keys = (count <= 20 ? l.Histogram.Keys.Union(Enumerable.Range(0, count).Select(c => (long)c)) : l.Histogram.Keys).Order().ToList();
                foreach (var k in keys.Take(50))
                {
                    long n = l.Histogram.GetValueOrDefault(k);
                    string name = k.ToString(CultureInfo.InvariantCulture) + (classNames is not null && k >= 0 && k < classNames.Count ? " " + classNames[(int)k] : "");
                    bool bad = k < 0 || k >= count;
                    ct.AddRow(bad ? $"[red]{Markup.Escape(name)} (out of range)[/]" : Markup.Escape(name), n.ToString("N0", CultureInfo.InvariantCulture),
                        (l.Samples == 0 ? 0 : 100.0 * n / l.Samples).ToString("0.0", CultureInfo.InvariantCulture) + "%");
                }
                if (keys.Count > 50) ct.AddRow("…", $"{keys.Count - 50} more", "");
                long emptyClasses = count - l.Histogram.Keys.Count(k => k >= 0 && k < count);
                if (count > 20 && emptyClasses > 0) ct.AddRow("(empty)", $"{emptyClasses:N0} of the {count:N0} classes have no sample", "");
                var (minCount, maxCount) = DataDetectors.ClassCountRange(l, count);
                double ratio = count == 0 || minCount == 0 ? double.PositiveInfinity : (double)maxCount / minCount;
                ct.Caption($"{count} classes ({l.ClassesSource ?? "inferred"}), {DataDetectors.BalanceVerdict(ratio)}" +
                           (double.IsFinite(ratio) ? $", largest/smallest {ratio.ToString("0.##", CultureInfo.InvariantCulture)}" : ""));
                console.Write(ct);
            }
            console.MarkupLine($"Exact duplicates: {(s.Duplicates.DuplicateSamples == 0 ? "[green]none[/]" : $"[yellow]{s.Duplicates.DuplicateSamples:N0}[/] sample(s) in {s.Duplicates.Groups:N0} group(s)")}");
        }
        foreach (var l in r.Leakage)
            console.MarkupLine($"Overlap {Markup.Escape(l.Split)} ↔ {Markup.Escape(l.Against)}: {(l.Samples == 0 ? "[green]none[/]" : $"[red]{l.Samples:N0}[/] sample(s)")}");
        var img0 = r.Primary.Fields.FirstOrDefault(f => f.Role == FieldRole.Image && f.Elements > 0);
        if (img0 is not null)
        {
            var v = DataDetectors.ImageVerdict(img0);
            var means = img0.ChannelMean.Count > 0 ? img0.ChannelMean : [img0.Mean];
            var stds = img0.ChannelStd.Count > 0 ? img0.ChannelStd : [img0.Std];
            if (v == "raw 0-255") { means = means.Select(m => m / 255).ToList(); stds = stds.Select(x => x / 255).ToList(); }
            if (v is "raw 0-255" or "[0,1]")
                console.MarkupLine($"Normalize ('{Markup.Escape(img0.Name)}'{(v == "raw 0-255" ? ", after dividing by 255" : "")}): [green]{Markup.Escape(DataDetectors.NormalizeCall(means, stds))}[/]");
        }
        console.MarkupLine($"[grey]Checked in {r.Seconds.ToString("0.0", CultureInfo.InvariantCulture)} s.[/]");
        if (r.Findings.Count == 0) console.MarkupLine("[green]No findings.[/]");
        SummaryConsole.WriteFindings(console, r.Findings);
    }

    private static string F4(double v) => double.IsNaN(v) ? "--" : Math.Abs(v) >= 1e5 ? v.ToString("0.###e+0", CultureInfo.InvariantCulture) : v.ToString("0.0000", CultureInfo.InvariantCulture);
}
