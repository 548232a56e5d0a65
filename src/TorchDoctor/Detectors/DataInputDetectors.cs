using System.Globalization;
using TorchDoctor.Observations;
using TorchDoctor.Findings;

namespace TorchDoctor.Detectors;

/// <summary>
/// Data rules that look across columns and splits (TD3022–TD3027): per-column scale of CSV features, text columns,
/// train/test agreement, the model's head against the data's classes, and labels against the loss.
/// </summary>
public static class DataInputDetectors
{
    /// <summary>
    /// A column whose range (max − min) is more than this many times the median column range is out of scale: gradient
    /// steps on its weight are that many times larger, so at 100× plain SGD already needs a learning rate tuned for one column.
    /// </summary>
    public const double ScaleRatio = 100.0;

    private static string G(double v) => double.IsNaN(v) ? "NaN" : v.ToString("G4", CultureInfo.InvariantCulture);
    private static string N(long v) => v.ToString("N0", CultureInfo.InvariantCulture);

    /// <summary>Rules on a CSV file's columns: constant columns, columns far out of scale of the others, text columns.</summary>
    public static IEnumerable<Finding> CsvColumns(IReadOnlyList<CsvColumnStats> columns, IReadOnlyList<CsvTextColumn> textColumns)
    {
        foreach (var c in columns.Where(c => c.Count > 1 && c.Min == c.Max))
            yield return Finding.Create(DataCodes.ConstantField, c.Name,
                $"Column '{c.Name}' is {G(c.Min)} in every row ({N(c.Count)} rows): it carries no information.",
                $"Drop column '{c.Name}' (or fix what fills it); standardising it would divide by a std of 0.",
                new Dictionary<string, string> { ["value"] = G(c.Min), ["rows"] = N(c.Count) });
        var ranged = columns.Where(c => c.Count > 1 && c.Max > c.Min && double.IsFinite(c.Max - c.Min)).ToList();
        if (ranged.Count >= 2)
        {
            var ranges = ranged.Select(c => c.Max - c.Min).Order().ToList();
            double median = ranges[(ranges.Count - 1) / 2];
            var big = ranged.Where(c => (c.Max - c.Min) > ScaleRatio * median).ToList();
            if (big.Count > 0)
            {
                var means = string.Join(", ", ranged.Select(c => G(c.Mean)));
                var stds = string.Join(", ", ranged.Select(c => G(c.Std)));
                yield return Finding.Create(DataCodes.FeatureScale, big[0].Name,
                    $"Column(s) {string.Join(", ", big.Select(c => $"'{c.Name}' (range {G(c.Min)}–{G(c.Max)})"))} span over {ScaleRatio:0}× the median column range ({G(median)}): " +
                    "their weights get gradients that much larger and dominate training.",
                    $"Standardise every column with the training split's statistics: x' = (x − mean) / std, mean = [{means}], std = [{stds}] (columns {string.Join(", ", ranged.Select(c => c.Name))}).",
                    new Dictionary<string, string>
                    {
                        ["columns"] = string.Join(", ", big.Select(c => c.Name)),
                        ["medianRange"] = G(median),
                        ["largestRange"] = G(big.Max(c => c.Max - c.Min)),
                    });
            }
        }
        foreach (var t in textColumns)
            yield return Finding.Create(DataCodes.CategoricalColumn, t.Name,
                $"Column '{t.Name}' holds text ({N(t.Distinct)} distinct value(s), e.g. {string.Join(", ", t.Examples.Select(e => $"'{e}'"))}; first at line {t.FirstLine}): it was left out of the features.",
                t.Distinct <= 50
                    ? $"One-hot encode '{t.Name}' ({t.Distinct} columns of 0/1) or map it to an Embedding index; or drop it if it is an ID."
                    : $"'{t.Name}' has {N(t.Distinct)} values: an Embedding over its index, or drop it if it is an ID or free text.",
                new Dictionary<string, string> { ["distinct"] = N(t.Distinct), ["firstLine"] = t.FirstLine.ToString(CultureInfo.InvariantCulture) });
    }

    /// <summary>Rules comparing a validation/test split with the training split: field shapes and dtypes, label ranges.</summary>
    public static IEnumerable<Finding> SplitAgreement(DataSetObservations train, DataSetObservations other)
    {
        foreach (var f in other.Fields)
        {
            var t = train.Fields.FirstOrDefault(x => x.Name == f.Name);
            if (t is null)
            {
                yield return Finding.Create(DataCodes.SplitMismatch, $"{other.Split}:{f.Name}",
                    $"'{other.Split}' has a field '{f.Name}' that '{train.Split}' does not have.",
                    "Read both splits with the same code, so they hold the same fields.", new Dictionary<string, string> { ["field"] = f.Name });
                continue;
            }
            bool labelField = f.Role == FieldRole.Label;
            if (!t.Shape.SequenceEqual(f.Shape) && !labelField)
                yield return Finding.Create(DataCodes.SplitMismatch, $"{other.Split}:{f.Name}",
                    $"'{f.Name}' is {DataDetectors.ShapeText(f.Shape)} in '{other.Split}' but {DataDetectors.ShapeText(t.Shape)} in '{train.Split}': a model trained on one cannot take the other.",
                    $"Resize or re-read '{other.Split}' to {DataDetectors.ShapeText(t.Shape)} with the same transforms as '{train.Split}' (or check that the files belong to the same data set).",
                    new Dictionary<string, string> { ["train"] = DataDetectors.ShapeText(t.Shape), [other.Split] = DataDetectors.ShapeText(f.Shape) });
            if (t.DType != f.DType)
                yield return Finding.Create(DataCodes.SplitMismatch, $"{other.Split}:{f.Name}",
                    $"'{f.Name}' is {f.DType} in '{other.Split}' but {t.DType} in '{train.Split}'.",
                    $"Convert '{other.Split}' the same way as '{train.Split}' (to {t.DType}).",
                    new Dictionary<string, string> { ["train"] = t.DType, [other.Split] = f.DType });
        }
        if (train.Labels is { } tl && other.Labels is { } ol && tl.Histogram.Count > 0 && ol.Histogram.Count > 0)
        {
            var unseen = ol.Histogram.Keys.Where(k => !tl.Histogram.ContainsKey(k)).Order().ToList();
            if (unseen.Count > 0)
            {
                long n = unseen.Sum(k => ol.Histogram[k]);
                yield return Finding.Create(DataCodes.SplitMismatch, $"{other.Split}:{ol.Field}",
                    $"{N(n)} label(s) of '{other.Split}' have values '{train.Split}' never has: {string.Join(", ", unseen.Take(10))}{(unseen.Count > 10 ? $", … ({unseen.Count} values)" : "")} " +
                    $"('{train.Split}' labels {tl.Histogram.Keys.Min()}–{tl.Histogram.Keys.Max()}, '{other.Split}' {ol.Histogram.Keys.Min()}–{ol.Histogram.Keys.Max()}).",
                    "Check that both splits use one label mapping and come from the same data set; a class never trained on cannot be predicted.",
                    new Dictionary<string, string> { ["values"] = string.Join(", ", unseen.Take(20)), ["count"] = N(n) });
            }
        }
    }

    /// <summary>The model's number of outputs against the data's number of classes (e.g. class folders).</summary>
    public static IEnumerable<Finding> HeadClasses(ModelExpectations model, int dataClasses, string dataSource)
    {
        if (model.Classes is not { } k || k == dataClasses || model.ClassesSource is null || !model.ClassesSource.StartsWith("model", StringComparison.Ordinal)) yield break;
        var layer = model.ClassesSource["model: ".Length..].Replace(".out_features", "", StringComparison.Ordinal);
        yield return Finding.Create(DataCodes.HeadClassMismatch, layer,
            $"The model has {N(k)} outputs ({model.ClassesSource}) but the data has {N(dataClasses)} classes ({dataSource}).",
            $"Replace the head with one of {dataClasses} outputs (e.g. `{layer} = Linear(in_features, {dataClasses})` when fine-tuning), or give the data the model's classes.",
            new Dictionary<string, string> { ["outputs"] = N(k), ["classes"] = N(dataClasses) });
    }

    /// <summary>The labels against the loss they will meet (<c>cross-entropy</c>, <c>bce</c>, <c>mse</c>).</summary>
    public static IEnumerable<Finding> LabelsForLoss(LabelObservation l, string loss)
    {
        bool isFloat = l.DType is "Float32" or "Float64" or "Float16" or "BFloat16";
        if (loss == "bce")
        {
            var outside = l.Histogram.Keys.Where(k => k is not (0 or 1)).ToList();
            if (!isFloat)
                yield return Finding.Create(DataCodes.LabelLossMismatch, l.Field,
                    $"Labels '{l.Field}' are {l.DType}; binary_cross_entropy(_with_logits) wants float targets of the output's shape.",
                    "Return `tensor((float)label)` from GetTensor (or `y.to(ScalarType.Float32)`), shaped like the model output ([N, 1] or [N]).",
                    new Dictionary<string, string> { ["dtype"] = l.DType, ["loss"] = loss });
            if (outside.Count > 0 || !l.IntegerValued && l.Samples == 0)
                yield return Finding.Create(DataCodes.LabelLossMismatch, l.Field,
                    $"BCE targets must be in [0, 1]; '{l.Field}' holds {string.Join(", ", outside.Take(10))}.",
                    "Map the labels to 0/1 (or use cross_entropy for more than two classes).",
                    new Dictionary<string, string> { ["values"] = string.Join(", ", outside.Take(10)), ["loss"] = loss });
        }
        else if (loss == "mse" && !isFloat)
            yield return Finding.Create(DataCodes.LabelLossMismatch, l.Field,
                $"Labels '{l.Field}' are {l.DType}; mse_loss wants float targets.",
                "Return float targets from GetTensor (`y.to(ScalarType.Float32)`).",
                new Dictionary<string, string> { ["dtype"] = l.DType, ["loss"] = loss });
    }
}
