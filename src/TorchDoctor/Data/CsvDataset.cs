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
        IntegerLabels = labels.All(l => double.IsFinite(l) && l == Math.Floor(l));
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
        if (!File.Exists(path)) throw new DataFileException(path, "no such file");
        var lines = File.ReadAllLines(path).Select((l, i) => (Line: l, No: i + 1)).Where(x => x.Line.Trim().Length > 0).ToList();
        if (lines.Count == 0) throw new DataFileException(path, "is empty; expected rows of comma-separated numbers");
        char sep = lines[0].Line.Contains(',') ? ',' : lines[0].Line.Contains(';') ? ';' : lines[0].Line.Contains('\t') ? '\t' : ',';
        string[] Split(string l) => l.Split(sep).Select(c => c.Trim().Trim('"')).ToArray();
        var first = Split(lines[0].Line);
        bool header = first.Any(c => c.Length > 0 && !double.TryParse(c, NumberStyles.Float, CultureInfo.InvariantCulture, out _) && !c.Equals("nan", StringComparison.OrdinalIgnoreCase));
        var names = header ? first : first.Select((_, i) => "c" + i.ToString(CultureInfo.InvariantCulture)).ToArray();
        int width = names.Length;
        if (width < 2) throw new DataFileException(path, $"has {width} column; expected at least one feature column and a label column");
        int li;
        if (labelColumn is null) li = width - 1;
        else if (int.TryParse(labelColumn, NumberStyles.None, CultureInfo.InvariantCulture, out var n)) li = n;
        else li = Array.FindIndex(names, x => x.Equals(labelColumn, StringComparison.OrdinalIgnoreCase));
        if (li < 0 || li >= width)
            throw new DataFileException(path, $"has no label column '{labelColumn}'; expected one of {string.Join(", ", names)} or a number 0–{width - 1}");
        var rows = new List<float[]>();
        var labels = new List<double>();
        foreach (var (line, no) in lines.Skip(header ? 1 : 0))
        {
            var cells = Split(line);
            if (cells.Length != width)
                throw new DataFileException(path, $"line {no} has {cells.Length} columns; expected {width} like the first line");
            var row = new float[width - 1];
            double label = 0;
            for (int c = 0, k = 0; c < width; c++)
            {
                double v;
                if (cells[c].Length == 0) v = double.NaN;
                else if (!double.TryParse(cells[c], NumberStyles.Float, CultureInfo.InvariantCulture, out v))
                    throw new DataFileException(path, $"line {no}, column {c + 1} ('{names[c]}'): expected a number, found '{cells[c]}'");
                if (c == li) label = v; else row[k++] = (float)v;
            }
            rows.Add(row);
            labels.Add(label);
        }
        if (rows.Count == 0) throw new DataFileException(path, "has a header but no data rows");
        return new CsvDataset(path, names.Where((_, i) => i != li).ToArray(), rows.ToArray(), labels.ToArray(), names[li]);
    }
}
