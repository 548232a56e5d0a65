using TorchDoctor.Observations;
using System.Globalization;
using TorchSharp;
using static TorchSharp.torch;

namespace TorchDoctor.Data;

/// <summary>
/// A CSV file of numeric features as a TorchSharp data set: <c>{"features": float32 [F], "label": int64 scalar}</c>
/// (the label is float32 when the label column holds non-whole numbers: a regression target). Empty cells and
/// <c>NaN</c> read as NaN so the data check reports them with their row.
/// </summary>
public sealed class CsvDataset : utils.data.Dataset
{
    private readonly float[][] _rows;
    private readonly double[] _labels;

    private CsvDataset(string path, string[] columns, float[][] rows, double[] labels, string labelColumn)
    {
        Path = path; FeatureColumns = columns; _rows = rows; _labels = labels; LabelColumn = labelColumn;
        // Whole numbers beyond 2^53 are not class indices a long can hold exactly (1e30 would become long.MaxValue).
        IntegerLabels = labels.All(l => double.IsFinite(l) && l == Math.Floor(l) && Math.Abs(l) <= MaxExactInteger);
    }

    /// <summary>2^53: the largest whole number a double holds exactly.</summary>
    public const double MaxExactInteger = 9007199254740992;

    /// <summary>Columns dropped from <c>features</c> because they hold text (categorical): name, distinct values, examples.</summary>
    public IReadOnlyList<CsvTextColumn> TextColumns { get; private init; } = [];

    /// <summary>Per feature column statistics (finite values only), in <see cref="FeatureColumns"/> order.</summary>
    public IReadOnlyList<CsvColumnStats> ColumnStats => _stats ??= ComputeStats();
    private IReadOnlyList<CsvColumnStats>? _stats;

    /// <summary>When the label column held text: the class names in label order (label i = LabelNames[i]); else null.</summary>
    public IReadOnlyList<string>? LabelNames { get; private init; }

    private List<CsvColumnStats> ComputeStats()
    {
        var result = new List<CsvColumnStats>();
        for (int c = 0; c < FeatureColumns.Count; c++)
        {
            long n = 0, nonFinite = 0;
            double mean = 0, m2 = 0, min = double.PositiveInfinity, max = double.NegativeInfinity;
            foreach (var row in _rows)
            {
                double v = row[c];
                if (!double.IsFinite(v)) { nonFinite++; continue; }
                n++;
                double d = v - mean;
                mean += d / n;
                m2 += d * (v - mean);
                if (v < min) min = v;
                if (v > max) max = v;
            }
            result.Add(new CsvColumnStats(FeatureColumns[c], n, nonFinite, n == 0 ? double.NaN : mean, n < 2 ? 0 : Math.Sqrt(m2 / (n - 1)), n == 0 ? double.NaN : min, n == 0 ? double.NaN : max));
        }
        return result;
    }

    /// <summary>
    /// Parses a CSV number the way pandas and numpy write them: decimals and exponents, <c>nan</c>/<c>NaN</c>/<c>-nan</c>,
    /// <c>inf</c>/<c>Inf</c>/<c>-inf</c>/<c>+inf</c>, <c>Infinity</c>; empty cells and <c>NA</c>/<c>N/A</c>/<c>null</c> are NaN.
    /// </summary>
    public static bool TryParseNumber(string cell, out double value)
    {
        var t = cell.Trim();
        if (t.Length == 0) { value = double.NaN; return true; }
        if (double.TryParse(t, NumberStyles.Float, CultureInfo.InvariantCulture, out value)) return true;
        var lower = t.ToLowerInvariant();
        var sign = lower.StartsWith('-') ? -1.0 : 1.0;
        var body = lower.TrimStart('+', '-');
        switch (body)
        {
            case "inf" or "infinity" or "∞": value = sign * double.PositiveInfinity; return true;
            case "nan" or "na" or "n/a" or "null" or "none" or "<na>": value = double.NaN; return true;
        }
        return false;
    }

    /// <summary>The file.</summary>
    public string Path { get; }
    /// <summary>Names of the feature columns (from the header, or <c>c0</c>, <c>c1</c>, …).</summary>
    public IReadOnlyList<string> FeatureColumns { get; }
    /// <summary>Name of the label column.</summary>
    public string LabelColumn { get; }
    /// <summary>Whether every label is a whole number (class indices).</summary>
    public bool IntegerLabels { get; }

    /// <inheritdoc />
    public override long Count => _rows.Length;

    /// <inheritdoc />
    public override Dictionary<string, Tensor> GetTensor(long index) => new()
    {
        ["features"] = tensor(_rows[index], [_rows[index].Length]),
        ["label"] = IntegerLabels ? tensor((long)_labels[index], ScalarType.Int64) : tensor((float)_labels[index], ScalarType.Float32),
    };

    /// <summary>
    /// Reads <paramref name="path"/>. <paramref name="labelColumn"/> is a header name or a 0-based column number;
    /// default: the last column. A header is recognised when the first row has a cell that is not a number.
    /// </summary>
    public static CsvDataset Load(string path, string? labelColumn = null)
    {
        if (IO.InputFile.Problem(path, "a CSV file of numeric features with a label column") is { } problem) throw new DataFileException(path, problem);
        List<(string Line, int No)> lines;
        try
        {
            lines = File.ReadAllLines(path).Select((l, i) => (Line: l, No: i + 1)).Where(x => x.Line.Trim().Length > 0).ToList();
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException)
        {
            throw new DataFileException(path, "cannot be read: " + e.Message, e);
        }
        if (lines.Count == 0) throw new DataFileException(path, "is empty; expected rows of comma-separated numbers");
        if (lines.Any(l => l.Line.Contains('\0')))
            throw new DataFileException(path, "holds NUL bytes: a binary file, not CSV text; expected rows of comma-separated numbers");
        char sep = lines[0].Line.Contains(',') ? ',' : lines[0].Line.Contains(';') ? ';' : lines[0].Line.Contains('\t') ? '\t' : ',';
        string[] Split(string l) => l.Split(sep).Select(c => c.Trim().Trim('"')).ToArray();
        var first = Split(lines[0].Line);
        // A header: a first-row cell that is not a number, when a later row has a number in that column.
        bool header = lines.Count > 1 && first.Select((c, i) => (c, i)).Any(x => x.c.Length > 0 && !TryParseNumber(x.c, out _)
            && Split(lines[1].Line) is var second && x.i < second.Length && TryParseNumber(second[x.i], out _))
            || (lines.Count > 1 && first.All(c => c.Length > 0 && !TryParseNumber(c, out _)));
        var names = header ? first : first.Select((_, i) => "c" + i.ToString(CultureInfo.InvariantCulture)).ToArray();
        int width = names.Length;
        if (width < 2) throw new DataFileException(path, $"has {width} column; expected at least one feature column and a label column");
        int li;
        if (labelColumn is null) li = width - 1;
        else if (int.TryParse(labelColumn, NumberStyles.None, CultureInfo.InvariantCulture, out var n)) li = n;
        else li = Array.FindIndex(names, x => x.Equals(labelColumn, StringComparison.OrdinalIgnoreCase));
        if (li < 0 || li >= width)
            throw new DataFileException(path, $"has no label column '{labelColumn}'; expected one of {string.Join(", ", names)} or a number 0–{width - 1}");
        var cellsOf = new List<(string[] Cells, int No)>();
        foreach (var (line, no) in lines.Skip(header ? 1 : 0))
        {
            var cells = Split(line);
            if (cells.Length != width)
                throw new DataFileException(path, $"line {no} has {cells.Length} columns; expected {width} like the first line");
            cellsOf.Add((cells, no));
        }
        if (cellsOf.Count == 0) throw new DataFileException(path, "has a header but no data rows");
        // Text (categorical) columns: any cell that is not a number. They are reported and left out of "features".
        var text = new bool[width];
        for (int c = 0; c < width; c++) text[c] = cellsOf.Any(r => !TryParseNumber(r.Cells[c], out _));
        var textColumns = new List<CsvTextColumn>();
        for (int c = 0; c < width; c++)
            if (text[c] && c != li)
            {
                var distinct = cellsOf.Select(r => r.Cells[c]).Distinct(StringComparer.Ordinal).ToList();
                var firstText = cellsOf.First(r => !TryParseNumber(r.Cells[c], out _));
                textColumns.Add(new CsvTextColumn(names[c], distinct.Count, distinct.Take(5).ToList(), firstText.No));
            }
        if (textColumns.Count == width - 1)
            throw new DataFileException(path, $"has no numeric feature column: {string.Join(", ", textColumns.Select(t => $"'{t.Name}' holds text (line {t.FirstLine}: '{t.Examples[0]}')"))}; encode the categories as numbers (one-hot) first");
        List<string>? labelNames = text[li] ? cellsOf.Select(r => r.Cells[li]).Distinct(StringComparer.Ordinal).Order(StringComparer.Ordinal).ToList() : null;
        var labelIndex = labelNames?.Select((x, i) => (x, i)).ToDictionary(x => x.x, x => x.i, StringComparer.Ordinal);
        var featureCols = Enumerable.Range(0, width).Where(c => c != li && !text[c]).ToArray();
        var rows = new float[cellsOf.Count][];
        var labels = new double[cellsOf.Count];
        for (int r = 0; r < cellsOf.Count; r++)
        {
            var cells = cellsOf[r].Cells;
            var row = new float[featureCols.Length];
            for (int k = 0; k < featureCols.Length; k++) { TryParseNumber(cells[featureCols[k]], out var v); row[k] = (float)v; }
            rows[r] = row;
            if (labelIndex is not null) labels[r] = labelIndex[cells[li]];
            else { TryParseNumber(cells[li], out var lv); labels[r] = lv; }
        }
        return new CsvDataset(path, featureCols.Select(c => names[c]).ToArray(), rows, labels, names[li]) { TextColumns = textColumns, LabelNames = labelNames };
    }
}


