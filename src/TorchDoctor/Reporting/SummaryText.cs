using System.Globalization;
using System.Text;
using TorchDoctor.Inspection;
using TorchDoctor.Probes;

namespace TorchDoctor.Reporting;

/// <summary>Cells and numbers of a summary, formatted the way torchinfo prints them; shared by the text and console sinks.</summary>
public static class SummaryFormat
{
    private static readonly CultureInfo Inv = CultureInfo.InvariantCulture;

    /// <summary>The columns to show, in order, with their headers.</summary>
    public static IReadOnlyList<(SummaryColumns Column, string Header)> Columns(SummaryColumns selected)
    {
        var all = new (SummaryColumns, string)[]
        {
            (SummaryColumns.InputShape, "Input Shape"), (SummaryColumns.OutputShape, "Output Shape"),
            (SummaryColumns.Params, "Param #"), (SummaryColumns.ParamsPercent, "Param %"),
            (SummaryColumns.Trainable, "Trainable"), (SummaryColumns.KernelSize, "Kernel Shape"),
            (SummaryColumns.MultAdds, "Mult-Adds"), (SummaryColumns.Time, "Time (ms)"),
        };
        return all.Where(c => selected.HasFlag(c.Item1)).ToList();
    }

    /// <summary>Rows visible at the report's depth.</summary>
    public static IEnumerable<(int Index, SummaryRow Row)> VisibleRows(SummaryReport r, SummaryExportSettings s)
        => r.Rows.Select((row, i) => (i, row)).Where(x => x.row.Depth <= s.Depth);

    /// <summary>The text of one cell.</summary>
    public static string Cell(SummaryReport r, SummaryExportSettings s, int index, SummaryColumns column)
    {
        var row = r.Rows[index];
        switch (column)
        {
            case SummaryColumns.InputShape:
                return row.InputShapes.Count == 0 ? "--" : TensorInfo.FormatShape(row.InputShapes[0]);
            case SummaryColumns.OutputShape:
                if (row.Failed) return "FAILED";
                return row.OutputShapes.Count == 0 ? "--" : TensorInfo.FormatShape(row.OutputShapes[0]);
            case SummaryColumns.Params:
                return row.ParamsCell(s.Depth);
            case SummaryColumns.ParamsPercent:
            {
                if (row.Params == 0 || r.TotalParams == 0) return "--";
                if (row.Recursive) return "(recursive)";
                var p = row.Depth == s.Depth || row.IsLeaf ? row.Params : row.LeftoverParams;
                return p == 0 ? "--" : (100.0 * p / r.TotalParams).ToString("0.00", Inv) + "%";
            }
            case SummaryColumns.Trainable:
                return row.TrainableCell;
            case SummaryColumns.KernelSize:
                return row.KernelSize ?? "--";
            case SummaryColumns.MultAdds:
            {
                long m = row.IsLeaf ? row.MultAdds
                    : row.Depth == s.Depth ? Descendants(r, index).Where(d => d.IsLeaf).Sum(d => d.MultAdds) : 0;
                return m <= 0 ? "--" : m.ToString("N0", Inv);
            }
            case SummaryColumns.Time:
                return row.TimeMs <= 0 ? "--" : row.TimeMs.ToString("0.000", Inv);
            default:
                return "";
        }
    }

    private static IEnumerable<SummaryRow> Descendants(SummaryReport r, int index)
    {
        for (int j = index + 1; j < r.Rows.Count && r.Rows[j].Depth > r.Rows[index].Depth; j++) yield return r.Rows[j];
    }

    /// <summary>torchinfo's tree prefix for a depth.</summary>
    public static string TreePrefix(int depth) => depth switch
    {
        0 => "",
        1 => "├─",
        _ => string.Concat(Enumerable.Repeat("│    ", depth - 1)) + "└─",
    };

    /// <summary>torchinfo's number format: ": 1.81" with a unit suffix chosen from T/G/M/k (decimal).</summary>
    public static string Readable(string label, long value, bool bytes)
    {
        double v = value;
        string unit = "";
        if (v >= 1e12) { unit = "T"; v /= 1e12; }
        else if (v >= 1e9) { unit = "G"; v /= 1e9; }
        else if (v >= 1e6) { unit = "M"; v /= 1e6; }
        else if (v >= 1e3) { unit = "k"; v /= 1e3; }
        // Sizes always carry their unit ("Input size (B): 512"), counts only their prefix.
        var suffix = unit.Length == 0 ? (bytes ? " (B)" : "") : $" ({unit}{(bytes ? "B" : "")})";
        var num = v == Math.Floor(v) ? ((long)v).ToString("N0", Inv) : v.ToString("N2", Inv);
        return $"{label}{suffix}: {num}";
    }

    /// <summary>Bytes as MB with two decimals (1 MB = 10^6 bytes, as torchinfo).</summary>
    public static string Megabytes(long bytes) => (bytes / 1e6).ToString("N2", Inv) + " MB";

    /// <summary>The totals block: label and value lines.</summary>
    public static IReadOnlyList<string> Totals(SummaryReport r)
    {
        var lines = new List<string>
        {
            "Total params: " + r.TotalParams.ToString("N0", Inv),
            "Trainable params: " + r.TrainableParams.ToString("N0", Inv),
            "Non-trainable params: " + r.NonTrainableParams.ToString("N0", Inv),
            Readable("Total mult-adds", r.MultAdds, bytes: false),
        };
        return lines;
    }

    /// <summary>The sizes block, torchinfo's four lines then TorchDoctor's measured lines.</summary>
    public static IReadOnlyList<string> Sizes(SummaryReport r)
    {
        var lines = new List<string>
        {
            Readable("Input size", r.InputBytes, bytes: true),
            Readable("Forward/backward pass size", r.ForwardBackwardBytes, bytes: true),
            Readable("Params size", r.ParamsBytes, bytes: true),
            Readable("Estimated Total Size", r.EstimatedTotalBytes, bytes: true),
            Readable("Buffers size (not in the estimate)", r.BuffersBytes, bytes: true),
        };
        if (r.MeasuredPeakBytes is { } m)
            lines.Add(Readable("Measured peak, one forward+backward step", m, bytes: true) +
                      (r.EstimatedTotalBytes >= 1_000_000 ? $"  ({((double)m / r.EstimatedTotalBytes).ToString("0.00", Inv)}× the estimate)" : ""));
        else if (r.MeasurementMethod is not null)
            lines.Add("Measured peak: " + r.MeasurementMethod);
        return lines;
    }
}

/// <summary>Plain-text sink: the summary as torchinfo's table, then TorchDoctor's additions (paths, findings, failure).</summary>
public static class SummaryText
{
    /// <summary>Renders the whole report.</summary>
    public static string Render(SummaryReport r, SummaryExportSettings s)
    {
        const int colWidth = 25;
        var cols = SummaryFormat.Columns(s.Columns);
        var visible = SummaryFormat.VisibleRows(r, s).ToList();
        int nameWidth = 40;
        int longest = r.Rows.Select(x => x.Label.Length + x.Depth * 5 + 1).DefaultIfEmpty(0).Max();
        if (longest >= nameWidth) nameWidth = (int)Math.Ceiling(longest / 5.0) * 5;
        int pathWidth = Math.Max(12, visible.Select(v => v.Row.Path.Length + 2).DefaultIfEmpty(0).Max());
        int total = nameWidth + 1 + pathWidth + cols.Count * (colWidth + 1);
        var bar = new string('=', total);
        var sb = new StringBuilder();
        sb.AppendLine(bar);
        var header = new StringBuilder("Layer (type:depth-idx)".PadRight(nameWidth) + " " + "Path".PadRight(pathWidth));
        foreach (var c in cols) header.Append(' ').Append(c.Header.PadRight(colWidth));
        sb.AppendLine(header.ToString().TrimEnd());
        sb.AppendLine(bar);
        foreach (var (i, row) in visible)
        {
            var line = new StringBuilder((SummaryFormat.TreePrefix(row.Depth) + row.Label).PadRight(nameWidth) + " " + row.Path.PadRight(pathWidth));
            foreach (var c in cols) line.Append(' ').Append(SummaryFormat.Cell(r, s, i, c.Column).PadRight(colWidth));
            sb.AppendLine(line.ToString().TrimEnd());
        }
        sb.AppendLine(bar);
        foreach (var l in SummaryFormat.Totals(r)) sb.AppendLine(l);
        sb.AppendLine(bar);
        foreach (var l in SummaryFormat.Sizes(r)) sb.AppendLine(l);
        sb.AppendLine(bar);
        if (r.NeverRan.Count > 0)
            sb.AppendLine("Modules that never ran: " + string.Join(", ", r.NeverRan));
        if (r.Failure is { } f)
        {
            sb.AppendLine();
            foreach (var l in FailureLines(f)) sb.AppendLine(l);
        }
        if (r.Findings.Count > 0)
        {
            sb.AppendLine();
            sb.AppendLine("Findings:");
            foreach (var finding in r.Findings)
            {
                sb.AppendLine($"  {finding.Code} {finding.Slug} [{finding.Severity.ToString().ToLowerInvariant()}] {finding.Module}");
                sb.AppendLine($"    {finding.Message}");
                sb.AppendLine($"    Fix: {finding.Advice}");
            }
        }
        return sb.ToString();
    }

    /// <summary>The explanation of a failed pass, line by line.</summary>
    public static IReadOnlyList<string> FailureLines(ForwardFailure f)
    {
        var lines = new List<string>
        {
            $"The forward pass failed in {f.Module} ({f.ModuleType}).",
            $"  libtorch said: {f.NativeMessage}",
        };
        if (f.Configuration.Count > 0)
            lines.Add("  Configuration: " + string.Join(", ", f.Configuration.Select(c => $"{c.Name}={c.Value}")));
        lines.Add("  Received: " + (f.InputShapes.Count == 0 ? "--" :
            string.Join(", ", f.InputShapes.Select((s, i) => TensorInfo.FormatShape(s) + (i < f.InputDTypes.Count ? " " + f.InputDTypes[i] : "")))));
        if (f.Previous.Count > 0)
        {
            lines.Add("  Ran before it:");
            foreach (var p in f.Previous)
                lines.Add($"    {p.Path} ({p.Type}) → {(p.OutputShape is null ? "--" : TensorInfo.FormatShape(p.OutputShape))}");
        }
        lines.Add("  Rule: " + f.Rule);
        lines.Add("  Fix: " + f.Fix);
        if (f.Caution is not null) lines.Add("  Caution: " + f.Caution);
        return lines;
    }
}
