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
                if (row.IsLeaf ? row.MultAdds is null : row.Depth == s.Depth && Descendants(r, index).Any(d => d.IsLeaf && d.MultAdds is null))
                    return "?";   // TorchScript: computed natively, unknown (not zero)
                long m = row.IsLeaf ? row.MultAdds ?? 0
                    : row.Depth == s.Depth ? Descendants(r, index).Where(d => d.IsLeaf).Sum(d => d.MultAdds ?? 0) : 0;
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

    /// <summary>As <see cref="Readable(string, long, bool)"/>, or "LABEL: unknown" when the value is not known (never 0).</summary>
    public static string Readable(string label, long? value, bool bytes)
        => value is { } v ? Readable(label, v, bytes) : $"{label}: {Unknown}";

    /// <summary>The text shown for a total that cannot be known (e.g. mult-adds inside TorchScript).</summary>
    public const string Unknown = "unknown";

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
                      (r.EstimatedTotalBytes is { } est && est >= 1_000_000 ? $"  ({((double)m / est).ToString("0.00", Inv)}× the estimate)" : ""));
        else if (r.MeasurementMethod is not null)
            lines.Add("Measured peak: " + r.MeasurementMethod);
        return lines;
    }
}

/// <summary>Plain-text sink: the summary as torchinfo's table, then TorchDoctor's additions (paths, findings, failure).</summary>
public static class SummaryText
{
    /// <summary>The widest line the text aims for (torchinfo's default table is 90 columns; ours adds a path column).</summary>
    public const int TargetWidth = 120;

    /// <summary>
    /// Renders the whole report. Columns are as wide as their widest cell (torchinfo pads every column to 25), so the
    /// default table of a ResNet-18 at depth 3 fits in <see cref="TargetWidth"/> columns; prose (failure, findings) is
    /// wrapped to the same width.
    /// </summary>
    public static string Render(SummaryReport r, SummaryExportSettings s)
    {
        const string gap = "  ";
        var cols = SummaryFormat.Columns(s.Columns);
        var visible = SummaryFormat.VisibleRows(r, s).ToList();
        var names = visible.Select(v => SummaryFormat.TreePrefix(v.Row.Depth) + v.Row.Label).ToList();
        var cells = visible.Select(v => cols.Select(c => SummaryFormat.Cell(r, s, v.Index, c.Column)).ToList()).ToList();
        const string nameHeader = "Layer (type:depth-idx)", pathHeader = "Path";
        int nameWidth = names.Append(nameHeader).Max(n => n.Length);
        int pathWidth = visible.Select(v => v.Row.Path.Length).Append(pathHeader.Length).Max();
        var widths = cols.Select((c, j) => cells.Select(row => row[j].Length).Append(c.Header.Length).Max()).ToList();
        int total = nameWidth + gap.Length + pathWidth + widths.Sum(w => w + gap.Length);
        var bar = new string('=', Math.Max(total, 40));
        var sb = new StringBuilder();
        sb.AppendLine(bar);
        var header = new StringBuilder(nameHeader.PadRight(nameWidth) + gap + pathHeader.PadRight(pathWidth));
        for (int j = 0; j < cols.Count; j++) header.Append(gap).Append(cols[j].Header.PadRight(widths[j]));
        sb.AppendLine(header.ToString().TrimEnd());
        sb.AppendLine(bar);
        for (int i = 0; i < visible.Count; i++)
        {
            var line = new StringBuilder(names[i].PadRight(nameWidth) + gap + visible[i].Row.Path.PadRight(pathWidth));
            for (int j = 0; j < cols.Count; j++) line.Append(gap).Append(cells[i][j].PadRight(widths[j]));
            sb.AppendLine(line.ToString().TrimEnd());
        }
        sb.AppendLine(bar);
        foreach (var l in SummaryFormat.Totals(r)) sb.AppendLine(l);
        sb.AppendLine(bar);
        foreach (var l in SummaryFormat.Sizes(r)) sb.AppendLine(l);
        sb.AppendLine(bar);
        if (r.NeverRan.Count > 0)
            foreach (var l in Wrap("Modules that never ran: " + string.Join(", ", r.NeverRan), "  ")) sb.AppendLine(l);
        if (r.Failure is { } f)
        {
            sb.AppendLine();
            foreach (var l in FailureLines(f))
            {
                var indent = new string(' ', l.Length - l.TrimStart().Length + 2);
                foreach (var w in Wrap(l, indent)) sb.AppendLine(w);
            }
        }
        if (r.Findings.Count > 0)
        {
            sb.AppendLine();
            sb.AppendLine("Findings:");
            foreach (var finding in r.Findings)
            {
                sb.AppendLine($"  {finding.Code} {finding.Slug} [{finding.Severity.ToString().ToLowerInvariant()}] {finding.Module}");
                foreach (var l in Wrap("    " + finding.Message, "      ")) sb.AppendLine(l);
                foreach (var l in Wrap("    Fix: " + finding.Advice, "      ")) sb.AppendLine(l);
            }
        }
        return sb.ToString();
    }

    /// <summary>Word-wraps <paramref name="text"/> at <see cref="TargetWidth"/>; continuation lines start with <paramref name="indent"/>.
    /// A single word longer than the width (a path, a shape list) stays whole.</summary>
    internal static IEnumerable<string> Wrap(string text, string indent)
    {
        if (text.Length <= TargetWidth) { yield return text; yield break; }
        var lead = text[..(text.Length - text.TrimStart().Length)];
        var line = new StringBuilder(lead);
        bool empty = true;
        foreach (var word in text.TrimStart().Split(' ', StringSplitOptions.RemoveEmptyEntries))
        {
            if (!empty && line.Length + 1 + word.Length > TargetWidth)
            {
                yield return line.ToString();
                line.Clear().Append(indent);
                empty = true;
            }
            if (!empty) line.Append(' ');
            line.Append(word);
            empty = false;
        }
        if (!empty) yield return line.ToString();
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
