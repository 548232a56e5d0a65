using TorchDoctor.Observations;
using System.Globalization;
using TorchDoctor.Findings;

namespace TorchDoctor.Detectors;

/// <summary>
/// Data rules (TD3xxx): pure functions from observations of data sets and loaders to findings. The same
/// observations always give the same findings, so every rule is tested on synthetic observations.
/// Thresholds are constants here, each with the reason for its value.
/// </summary>
public static class DataDetectors
{
    /// <summary>The verdict on an image field's value range: <c>raw 0-255</c>, <c>[0,1]</c>, <c>normalised</c>, <c>[-1,1]</c> or <c>other</c>.</summary>
    public static string ImageVerdict(FieldObservation f, DataThresholds? thresholds = null)
    {
        var th = thresholds ?? DataThresholds.Default;
        if (f.Elements == 0) return "empty";
        if (f.Min >= 0 && f.Max <= 255 && f.Max > th.RawPixelMaxThreshold) return "raw 0-255";
        if (f.Min >= 0 && f.Max <= 1) return "[0,1]";
        var means = f.ChannelMean.Count > 0 ? f.ChannelMean : [f.Mean];
        var stds = f.ChannelStd.Count > 0 ? f.ChannelStd : [f.Std];
        if (means.All(m => Math.Abs(m) <= th.NormalizedMeanTolerance) && stds.All(s => s >= th.NormalizedStdLow && s <= th.NormalizedStdHigh)) return "normalised";
        if (f.Min >= -1 && f.Max <= 1) return "[-1,1]";
        return "other";
    }

    /// <summary>The verdict on class balance from the largest/smallest count ratio.</summary>
    public static string BalanceVerdict(double ratio, DataThresholds? thresholds = null) => Balance(ratio, thresholds ?? DataThresholds.Default);

    private static string Balance(double ratio, DataThresholds th) => double.IsInfinity(ratio) ? "classes missing"
        : ratio <= th.BalancedRatio ? "balanced" : ratio <= th.ImbalanceRatio ? "mildly imbalanced" : ratio <= th.SevereRatio ? "imbalanced" : "severely imbalanced";

    /// <summary>
    /// The TorchVision Normalize call for these per-channel means and stds (values after scaling to [0, 1]); never a call
    /// that breaks: when a channel is constant (std 0, Normalize would divide by zero) or a statistic is not finite
    /// (a sample that failed to decode, NaN pixels), it says so instead.
    /// </summary>
    public static string NormalizeCall(IReadOnlyList<double> mean, IReadOnlyList<double> std)
    {
        var bad = Enumerable.Range(0, Math.Min(mean.Count, std.Count)).Where(c => !double.IsFinite(mean[c]) || !double.IsFinite(std[c])).ToList();
        if (bad.Count > 0)
            return $"no Normalize values yet: channel(s) {string.Join(", ", bad)} have a non-finite mean or std (NaN/Inf pixels or a sample that failed to decode); fix those samples first, then run the check again";
        var constant = Enumerable.Range(0, Math.Min(mean.Count, std.Count)).Where(c => !(std[c] > 1e-12)).ToList();
        if (constant.Count > 0)
            return $"no Normalize for constant channel(s) {string.Join(", ", constant.Select(c => $"{c} (always {F4(mean[c])})"))}: a std of 0 would divide by zero; " +
                "drop or fix the constant channel (a blank decode or a wrong colour conversion?)" + (constant.Count < mean.Count
                    ? $", and normalise the others with mean {Join(Enumerable.Range(0, mean.Count).Where(c => !constant.Contains(c)).Select(c => mean[c]))}, std {Join(Enumerable.Range(0, std.Count).Where(c => !constant.Contains(c)).Select(c => std[c]))}"
                    : "");
        return $"torchvision.transforms.Normalize(new double[] {{ {Join(mean)} }}, new double[] {{ {Join(std)} }})";
    }

    private static string Join(IEnumerable<double> v) => string.Join(", ", v.Select(x => F4(x)));
    private static string F4(double v) => v.ToString("0.0000", CultureInfo.InvariantCulture);
    private static string G(double v) => double.IsNaN(v) ? "NaN" : v.ToString("G6", CultureInfo.InvariantCulture);
    private static string N(long v) => v.ToString("N0", CultureInfo.InvariantCulture);
    /// <summary>Formats sample indices for messages and evidence: <c>3, 17, 42 (+5 more)</c>.</summary>
    public static string Indices(IReadOnlyList<long> indices, long total)
        => string.Join(", ", indices) + (total > indices.Count ? $" (+{N(total - indices.Count)} more)" : "");

    private static string Where(string split, string field, bool showSplit) => showSplit ? $"{split}:{field}" : field;

    /// <summary>Rules on one field: missing, dtype and shape consistency, non-finite values, constant values, and for images range, dtype, layout and channels.</summary>
    /// <remarks>
    /// <paramref name="primary"/> marks the training split: only its statistics give Normalize values (validation and test
    /// data are normalised with the training statistics, so TD3008 is not raised for them).
    /// </remarks>
    public static IEnumerable<Finding> Field(FieldObservation f, ModelExpectations? model = null, bool showSplit = false, bool primary = true, DataThresholds? thresholds = null)
    {
        var th = thresholds ?? DataThresholds.Default;
        var where = Where(f.Split, f.Name, showSplit);
        if (f.Missing > 0)
            yield return Finding.Create(DataCodes.MissingField, where,
                $"{N(f.Missing)} sample(s) of '{f.Split}' have no '{f.Name}' field (first: {Indices(f.MissingIndices, f.Missing)}); {N(f.Present)} have it.",
                $"Make GetTensor return the same keys for every sample (add '{f.Name}' or drop those samples).",
                Ev(("missing", Cn(f.Missing)), ("indices", Indices(f.MissingIndices, f.Missing))));
        if (f.OtherDTypes.Count > 0)
        {
            long others = f.OtherDTypes.Sum(g => g.Count);
            yield return Finding.Create(DataCodes.InconsistentDType, where,
                $"'{f.Name}' is {f.DType} in {N(f.Present - others)} samples but " +
                string.Join("; ", f.OtherDTypes.Select(g => $"{g.Value} in {N(g.Count)} (first: {Indices(g.Indices, g.Count)})")) + ".",
                $"Convert in GetTensor so every sample has one dtype, e.g. `t.to(ScalarType.{f.DType})`.",
                Ev(("majorityDType", f.DType), ("others", string.Join("; ", f.OtherDTypes.Select(g => $"{g.Value}×{g.Count} at {string.Join(",", g.Indices)}")))));
        }
        // Images that differ only in their channel count are one cause (grey among RGB): the channel mismatch below
        // names it with its fix, so they are not also reported as inconsistent shapes.
        var shapeGroups = f.OtherShapes.Where(g => !(f.Role == FieldRole.Image && ChannelOnly(f, g.Value, model))).ToList();
        if (shapeGroups.Count > 0)
        {
            long others = f.OtherShapes.Sum(g => g.Count);
            yield return Finding.Create(DataCodes.InconsistentShape, where,
                $"'{f.Name}' has shape {ShapeText(f.Shape)} in {N(f.Present - others)} samples but " +
                string.Join("; ", shapeGroups.Select(g => $"{g.Value} in {N(g.Count)} (first: {Indices(g.Indices, g.Count)})")) + ".",
                "Resize, crop or pad every sample to one shape in GetTensor (or write a collate function that pads); the default DataLoader collate cannot stack different shapes.",
                Ev(("majorityShape", ShapeText(f.Shape)), ("others", string.Join("; ", shapeGroups.Select(g => $"{g.Value}×{g.Count} at {string.Join(",", g.Indices)}")))));
        }
        if (f.NonFinite > 0)
            yield return Finding.Create(DataCodes.NonFinite, where,
                $"'{f.Name}' holds {N(f.NaN)} NaN and {N(f.Inf)} infinite value(s) in {N(f.NonFiniteSamples)} sample(s) (first: {Indices(f.NonFiniteIndices, f.NonFiniteSamples)}). One such sample turns the loss and then every weight into NaN.",
                "Drop or repair those samples (find where they come from: a division by zero, a failed decode, a log of 0); `torch.nan_to_num` only hides the cause.",
                Ev(("nan", Cn(f.NaN)), ("inf", Cn(f.Inf)), ("samples", Cn(f.NonFiniteSamples)), ("indices", Indices(f.NonFiniteIndices, f.NonFiniteSamples))));
        if (f.Present > 1 && f.Elements > 0 && f.Min == f.Max)
            yield return Finding.Create(DataCodes.ConstantField, where,
                $"'{f.Name}' is {G(f.Min)} everywhere in {N(f.Present)} samples: it carries no information.",
                "Check the reader or transform that fills it (a scale that zeroes values, a wrong column, a blank decode), or drop the field.",
                Ev(("value", Gv(f.Min)), ("samples", Cn(f.Present))));
        if (f.Role == FieldRole.Image)
            foreach (var x in Image(f, model, where, primary, th)) yield return x;
    }

    private static IEnumerable<Finding> Image(FieldObservation f, ModelExpectations? model, string where, bool primary, DataThresholds th)
    {
        var verdict = ImageVerdict(f, th);
        var means = f.ChannelMean.Count > 0 ? f.ChannelMean : [f.Mean];
        var stds = f.ChannelStd.Count > 0 ? f.ChannelStd : [f.Std];
        var stats = Ev(("dtype", f.DType), ("min", Gv(f.Min)), ("max", Gv(f.Max)), ("mean", Join(means)), ("std", Join(stds)), ("verdict", verdict));
        if (f.IntegerDType)
        {
            var scaled = verdict == "raw 0-255";
            yield return Finding.Create(DataCodes.IntegerImages, where,
                $"'{f.Name}' is {f.DType} (values {G(f.Min)}–{G(f.Max)}); a float model's first layer rejects {f.DType} input or computes on unscaled integers.",
                "Convert once in GetTensor: `img.to(ScalarType.Float32)" + (scaled ? ".div(255)`" : "`") +
                (scaled ? ", then " + (primary ? NormalizeCall(means.Select(m => m / 255).ToList(), stds.Select(s => s / 255).ToList()) : "the training split's Normalize values") + "." : "."),
                stats);
        }
        else if (verdict == "raw 0-255")
            yield return Finding.Create(DataCodes.UnscaledPixels, where,
                $"'{f.Name}' is {f.DType} with values {G(f.Min)}–{G(f.Max)} (mean {Join(means)}): raw 0–255 pixels were never scaled. Activations and gradients are ~255× too large.",
                "Divide by 255 in GetTensor (`img.div(255)`), then normalise with " +
                (primary ? NormalizeCall(means.Select(m => m / 255).ToList(), stds.Select(s => s / 255).ToList()) : "the training split's Normalize values") + ".",
                stats);
        else if (verdict == "[0,1]" && primary)
            yield return Finding.Create(DataCodes.NotNormalized, where,
                $"'{f.Name}' is in [0, 1] with per-channel mean {Join(means)} and std {Join(stds)}: not normalised (zero mean, unit std trains faster).",
                "Normalise with exactly these values: " + NormalizeCall(means, stds) + ".",
                stats);
        if (f.Layout == "HWC")
            yield return Finding.Create(DataCodes.ChannelsLast, where,
                $"'{f.Name}' has shape {ShapeText(f.Shape)}: the last dimension ({f.Shape[^1]}) looks like colour channels, so the images are channels-last (H, W, C).",
                "Permute to channels-first in GetTensor: `img.permute(2, 0, 1)` (torchvision.io.read_image already returns C, H, W).",
                Ev(("shape", ShapeText(f.Shape)), ("layout", "HWC")));
        if (model?.Channels is { } want2)
        {
            // Images of another channel count among the others (grey PNGs in an RGB folder): a channel mismatch, not just a shape.
            var odd = f.OtherShapes.Where(g => ChannelOnly(f, g.Value, model, anySize: true)).ToList();
            if (odd.Count > 0)
            {
                long n = odd.Sum(g => g.Count);
                var idx = odd.SelectMany(g => g.Indices).Order().Take(10).ToList();
                yield return Finding.Create(DataCodes.ChannelMismatch, where,
                    $"{N(n)} image(s) of '{f.Name}' have {string.Join(" or ", odd.Select(g => Dims(g.Value)[0]).Distinct())} channel(s) (first: {Indices(idx, n)}) while the model's first convolution takes {want2} ({model.ChannelsSource}) like the other images.",
                    want2 == 3 ? "Decode every image as RGB (torchvision.io.read_image(path, ImageReadMode.RGB)) so grey and RGBA files get 3 channels." : $"Convert those images to {want2} channel(s) when decoding.",
                    Ev(("images", N(n)), ("indices", Indices(idx, n)), ("modelChannels", want2.ToString(CultureInfo.InvariantCulture))));
            }
        }
        if (model?.Channels is { } want && f.Channels is { } have && want != have)
            yield return Finding.Create(DataCodes.ChannelMismatch, where,
                $"'{f.Name}' has {have} channel(s) but the model's first convolution takes {want} ({model.ChannelsSource}).",
                have == 1 && want == 3 ? "Repeat the grey channel (`img.expand(3, -1, -1)`) or build the model with in_channels=1."
                : have == 3 && want == 1 ? "Convert to grey (torchvision.transforms.Grayscale()) or build the model with in_channels=3."
                : $"Build the model with in_channels={have}, or convert the images to {want} channel(s).",
                Ev(("channels", EvidenceValue.Count(have)), ("modelChannels", EvidenceValue.Count(want))));
    }

    private static long[] Dims(string v) => v.Trim('[', ']', ' ').Split(',', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries)
        .Select(x => long.TryParse(x, NumberStyles.Integer, CultureInfo.InvariantCulture, out var d) ? d : -1).ToArray();

    /// <summary>True when a minority image shape has a channel count (1–4) the model does not take while the majority has
    /// the model's channels: a channel mismatch (TD3011). Unless <paramref name="anySize"/>, its height and width must
    /// also match the majority's (then the channels are the only difference, not a shape problem as well).</summary>
    private static bool ChannelOnly(FieldObservation f, string shape, ModelExpectations? model, bool anySize = false)
    {
        if (model?.Channels is not { } want || f.Shape.Length != 3 || f.Shape[0] != want) return false;
        var sh = Dims(shape);
        return sh.Length == 3 && sh[0] != want && sh[0] is > 0 and <= 4 && (anySize || (sh[1] == f.Shape[1] && sh[2] == f.Shape[2]));
    }

    /// <summary>Rules on labels: dtype, range against the number of classes, and class balance.</summary>
    public static IEnumerable<Finding> Labels(LabelObservation l, bool showSplit = false, DataThresholds? thresholds = null)
    {
        var th = thresholds ?? DataThresholds.Default;
        var where = Where(l.Split, l.Field, showSplit);
        if (l.IntegerValued && l.DType != "Int64")
            yield return Finding.Create(DataCodes.LabelDType, where,
                $"Labels '{l.Field}' are {l.DType}; cross_entropy (and nll_loss) want Int64 class indices and throw on {l.DType} targets.",
                $"Return `tensor(label, ScalarType.Int64)` from GetTensor (or `label.to(ScalarType.Int64)`).",
                Ev(("dtype", l.DType)));
        int? classes = l.Classes;
        if (l.HugeLabels > 0 || (classes is null && InferredClasses(l) is null && l.Histogram.Count > 0))
        {
            long top = l.Histogram.Count == 0 ? 0 : l.Histogram.Keys.Max();
            var examples = l.HugeExamples.Select(e => $"{e.Value.ToString("G6", CultureInfo.InvariantCulture)} at sample {e.Index}")
                .Concat(l.Histogram.Keys.OrderDescending().Take(3).Select(k => $"{k.ToString(CultureInfo.InvariantCulture)} at sample {l.FirstIndices[k][0]}")).Take(5);
            yield return Finding.Create(DataCodes.LabelNotClassIndex, where,
                $"Labels '{l.Field}' are not class indices: {(l.HugeLabels > 0 ? $"{N(l.HugeLabels)} exceed 2^53 (beyond exact whole numbers); " : "")}" +
                $"the largest is {string.Join(", ", examples)}, with {N(l.Histogram.Count)} distinct value(s) in all. As class indices they would ask for a {(l.HugeLabels > 0 ? "astronomical" : N(top + 1))}-way output, nearly every class empty.",
                "Map the labels to 0..K-1 (e.g. a dictionary from each distinct value to its rank), or fix the corrupt values; pass --classes K to check them against a model's K outputs.",
                Ev(("distinct", N(l.Histogram.Count)), ("largest", l.HugeLabels > 0 ? l.HugeExamples[0].Value.ToString("G6", CultureInfo.InvariantCulture) : top.ToString(CultureInfo.InvariantCulture)),
                   ("huge", N(l.HugeLabels))));
            if (classes is null) yield break;
        }
        var bad = l.Histogram.Where(kv => kv.Key < 0 || (classes is { } c && kv.Key >= c)).OrderBy(kv => kv.Key).ToList();
        if (bad.Count > 0)
        {
            long count = bad.Sum(kv => kv.Value);
            var idx = bad.SelectMany(kv => l.FirstIndices[kv.Key]).Order().Take(10).ToList();
            var range = classes is { } c ? $"[0, {c - 1}] ({c} classes, {l.ClassesSource})" : "non-negative";
            yield return Finding.Create(DataCodes.LabelOutOfRange, where,
                $"{N(count)} label(s) outside {range}: " + string.Join(", ", bad.Select(kv => $"{kv.Key} ×{N(kv.Value)}")) +
                $" (first samples: {Indices(idx, count)}). cross_entropy throws 'Target {bad[0].Key} is out of bounds'.",
                classes is { } c2 && bad.All(kv => kv.Key == c2)
                    ? $"Labels must be 0..{c2 - 1}: a label equal to the class count is usually 1-based labels or an 'unknown' class; fix the labels or give the model {c2 + 1} outputs."
                    : "Fix or drop those samples, or give the model enough outputs for every class.",
                Ev(("values", string.Join(", ", bad.Select(kv => kv.Key))), ("count", Cn(count)), ("indices", Indices(idx, count)),
                   ("classes", classes?.ToString(CultureInfo.InvariantCulture) ?? "unknown")));
        }
        int k = classes ?? InferredClasses(l) ?? 0;
        if (k >= 2 && k <= MaxInferredClasses && l.Samples >= (long)k * th.MinSamplesPerClassForBalance)
        {
            var counts = Enumerable.Range(0, k).Select(c => l.Histogram.GetValueOrDefault(c)).ToList();
            long max = counts.Max(), min = counts.Min();
            double ratio = min == 0 ? double.PositiveInfinity : (double)max / min;
            var missing = Enumerable.Range(0, k).Where(c => counts[c] == 0).ToList();
            if (missing.Count > 0 || ratio > th.ImbalanceRatio)
            {
                int big = counts.IndexOf(max), small = counts.IndexOf(min);
                var weights = counts.Select(n => n == 0 ? 0.0 : (double)l.Samples / (k * n)).ToList();
                yield return Finding.Create(DataCodes.ClassImbalance, where,
                    missing.Count > 0
                        ? $"Class(es) {string.Join(", ", missing.Take(10))} have no sample in '{l.Split}' ({k} classes, {l.ClassesSource ?? "inferred from the largest label"})."
                        : $"Classes are {BalanceVerdict(ratio, th)}: class {big} has {N(max)} samples, class {small} has {N(min)} ({ratio.ToString("0.#", CultureInfo.InvariantCulture)}:1).",
                    missing.Count > 0
                        ? "Check the split (stratify it by class) or the label mapping; a model cannot learn a class it never sees."
                        : $"Weight the loss by inverse frequency: `cross_entropy(logits, y, weight: tensor(new float[] {{ {string.Join(", ", weights.Select(w => w.ToString("0.###", CultureInfo.InvariantCulture)))} }}))`, or oversample the small classes; report per-class accuracy.",
                    Ev(("histogram", string.Join(", ", counts.Select((n, c) => $"{c}:{n}"))), ("ratio", double.IsInfinity(ratio) ? "inf" : EvidenceValue.Of(ratio, "0.##", EvidenceUnit.Ratio)),
                       ("verdict", BalanceVerdict(ratio, th))));
            }
        }
    }

    /// <summary>
    /// At most this many classes are inferred from the largest label (or listed per class): ImageNet-21k has 21,841, so
    /// 100,000 leaves room while keeping every per-class loop bounded by the data, never by a label's value.
    /// </summary>
    public const int MaxInferredClasses = 100_000;

    /// <summary>
    /// The number of classes implied by the largest label (largest + 1), or null when that would be absurd: above
    /// <see cref="MaxInferredClasses"/>, or more than 1,000 and more than 100 times the number of distinct labels
    /// (IDs or corrupt values, not class indices).
    /// </summary>
    public static int? InferredClasses(LabelObservation l)
    {
        if (l.Histogram.Count == 0) return 0;
        long top = l.Histogram.Keys.Max();
        if (top < 0) return 0;
        if (top + 1 > MaxInferredClasses) return null;
        if (top + 1 > 1000 && top + 1 > 100L * l.Histogram.Count) return null;
        return (int)(top + 1);
    }

    /// <summary>(smallest, largest) count over classes 0..k-1, from the histogram alone (cost: distinct labels, not k).</summary>
    public static (long Min, long Max) ClassCountRange(LabelObservation l, int k)
    {
        long present = 0, min = long.MaxValue, max = 0;
        foreach (var (c, n) in l.Histogram)
            if (c >= 0 && c < k) { present++; min = Math.Min(min, n); max = Math.Max(max, n); }
        if (present < k) min = 0;
        return (k == 0 ? 0 : min, max);
    }

    /// <summary>Rule on exact duplicates within one split.</summary>
    public static IEnumerable<Finding> Duplicates(DuplicateObservation d, bool showSplit = false)
    {
        if (d.DuplicateSamples == 0) yield break;
        var pairs = string.Join(", ", d.Pairs.Take(10).Select(p => $"{p.Index}={p.FirstIndex}"));
        yield return Finding.Create(DataCodes.DuplicateSamples, showSplit ? d.Split : null,
            $"{N(d.DuplicateSamples)} sample(s) of '{d.Split}' are exact copies of earlier ones ({N(d.Groups)} distinct contents repeated; first pairs index=copy-of: {pairs})" +
            (d.ConflictingLabels > 0 ? $"; {N(d.ConflictingLabels)} of them carry a different label from their copy" : "") + ".",
            "Remove the repeats (keep the first of each), or they weigh double in the loss" + (d.ConflictingLabels > 0 ? "; resolve the conflicting labels, the model cannot fit both." : "."),
            Ev(("duplicates", Cn(d.DuplicateSamples)), ("groups", Cn(d.Groups)), ("pairs", pairs), ("conflictingLabels", Cn(d.ConflictingLabels))));
    }

    /// <summary>Rule on samples shared between splits.</summary>
    public static IEnumerable<Finding> Leakage(LeakageObservation l)
    {
        if (l.Samples == 0) yield break;
        var pairs = string.Join(", ", l.Pairs.Take(10).Select(p => $"{l.Split}[{p.Index}]={l.Against}[{p.OtherIndex}]"));
        yield return Finding.Create(DataCodes.SplitLeakage, l.Split,
            $"{N(l.Samples)} sample(s) of '{l.Split}' also occur in '{l.Against}' (first: {pairs}): {l.Split} scores on them measure memory, not generalisation.",
            $"Remove those samples from '{l.Against}' (or from '{l.Split}'); split before augmenting, and deduplicate before splitting.",
            Ev(("samples", Cn(l.Samples)), ("pairs", pairs)));
    }

    /// <summary>Rule on samples that could not be read: one finding per distinct error, with every index.</summary>
    public static IEnumerable<Finding> Failures(IReadOnlyList<SampleFailure> failures, bool showSplit = false)
    {
        foreach (var g in failures.GroupBy(f => (f.Split, f.Exception, f.Message)))
        {
            var idx = g.Select(f => f.Index).ToList();
            var first = idx.Take(10).ToList();
            yield return Finding.Create(DataCodes.SampleFailed, (showSplit ? g.Key.Split + ":" : "") + (idx.Count == 1 ? $"sample {idx[0]}" : $"samples {Indices(first, idx.Count)}"),
                $"GetTensor({idx[0]}) threw {g.Key.Exception}: {g.Key.Message}" + (idx.Count > 1 ? $" ({N(idx.Count)} samples fail the same way)." : ""),
                "Fix the reader for these samples (a missing or corrupt file, a bad row) or remove them from the index; the DataLoader stops at the first one.",
                Ev(("indices", Indices(first, idx.Count)), ("count", Cn(idx.Count)), ("exception", g.Key.Exception)));
        }
    }

    /// <summary>Rules on a loader's configuration and its batches: batch size, last batch, sorted order without shuffling, batch shapes.</summary>
    public static IEnumerable<Finding> Loader(LoaderObservation o, DataThresholds? thresholds = null)
    {
        var th = thresholds ?? DataThresholds.Default;
        if (o.BatchSize >= o.Samples && o.Samples > 0)
        {
            var f = Finding.Create(DataCodes.BatchTooLarge, "loader",
                o.DropLast && o.BatchSize > o.Samples
                    ? $"batch_size {N(o.BatchSize)} is larger than the {N(o.Samples)} samples and drop_last is on: the loader yields no batch at all."
                    : $"batch_size {N(o.BatchSize)} is at least the {N(o.Samples)} samples: one step per epoch.",
                $"Use a batch size well below the data set size, e.g. {Math.Max(1, Math.Min(64, o.Samples / 8))}" + (o.DropLast ? ", or drop_last: false." : "."),
                Ev(("batchSize", Cn(o.BatchSize)), ("samples", Cn(o.Samples)), ("dropLast", o.DropLast ? "true" : "false")));
            yield return o.DropLast && o.BatchSize > o.Samples ? f with { Severity = Severity.Error } : f;
        }
        else if (!o.DropLast && o.LastBatchSize > 0 && o.LastBatchSize < o.BatchSize && o.Batches > 1 &&
                 (o.LastBatchSize == 1 || o.LastBatchSize < o.BatchSize * th.SmallLastBatchShare))
        {
            var f = Finding.Create(DataCodes.SmallLastBatch, "loader", 
                $"The last batch holds {N(o.LastBatchSize)} of {N(o.BatchSize)} samples ({N(o.Samples)} = {N(o.Batches - 1)}×{N(o.BatchSize)} + {N(o.LastBatchSize)}): its gradient is noisy" +
                (o.LastBatchSize == 1 ? ", and BatchNorm in training mode throws on a batch of one." : "."),
                "Pass drop_last: true to the training DataLoader (with shuffling, every sample is still seen across epochs), or choose a batch size that divides the data set.",
                Ev(("lastBatch", Cn(o.LastBatchSize)), ("batchSize", Cn(o.BatchSize)), ("samples", Cn(o.Samples))), step: o.Batches - 1);
            yield return o.LastBatchSize == 1 ? f with { Severity = Severity.Warning } : f;
        }
        if (o.Training && o.Shuffled != true && o.LabelOrder.Count >= 2 * o.BatchSize && o.BatchSize > 0)
        {
            var labels = o.LabelOrder;
            var (meanRun, expected, sorted) = LabelRuns(labels, th);
            if (sorted)
            {
                var batches = BatchRuns(labels, o.BatchSize, th);
                yield return Finding.Create(DataCodes.UnshuffledSorted, "loader",
                    $"The training loader does not shuffle and the data is sorted by label: {batches}. Each step pushes the model toward one class, and it forgets the others.",
                    "Shuffle the training loader: `torch.utils.data.DataLoader(ds, batchSize, shuffle: true)` (keep the validation loader unshuffled).",
                    Ev(("shuffled", o.Shuffled is null ? "unknown" : "false"), ("meanLabelRun", EvidenceValue.Of(meanRun, "0.#")),
                       ("expectedRunIfShuffled", double.IsInfinity(expected) ? "n/a (one label seen)" : expected.ToString("0.##", CultureInfo.InvariantCulture)),
                       ("batchesRead", N(o.BatchesRead))), step: 0);
            }
        }
        if (o.BatchFailure is { } bf)
            yield return Finding.Create(DataCodes.BatchShapeVaries, "loader",
                $"Batch {bf.Batch} could not be built: {bf.Message}",
                "Make every sample of a batch the same shape and dtype (see the data check's inconsistent-shape findings), or pass a collate function that pads.",
                Ev(("batch", Cn(bf.Batch))), step: bf.Batch) with { Severity = Severity.Error };
        foreach (var (field, groups) in o.BatchShapes)
        {
            if (groups.Count <= 1) continue;
            yield return Finding.Create(DataCodes.BatchShapeVaries, "loader",
                $"Batches of '{field}' come in {groups.Count} shapes (after the batch dimension): " +
                string.Join("; ", groups.Select(g => $"{g.Value} in {N(g.Count)} batch(es) (first: {string.Join(", ", g.Indices)})")) + ".",
                "A model with fixed-size layers (Linear after Flatten) needs one shape: resize or pad in GetTensor; for sequences, pad to a fixed length or use packed sequences.",
                Ev(("field", field), ("shapes", string.Join("; ", groups.Select(g => g.Value)))), step: groups[1].Indices.FirstOrDefault());
        }
    }

    /// <summary>
    /// The mean run of equal labels in <paramref name="labels"/> (in the order training reads them), the run a random order
    /// with the same label frequencies gives (1 / (1 − Σp²)), and whether the order is sorted: a mean run of at least
    /// <see cref="DataThresholds.MinSortedRun"/> and <see cref="DataThresholds.SortedRunFactor"/> × the random run.
    /// </summary>
    public static (double MeanRun, double Expected, bool Sorted) LabelRuns(IReadOnlyList<long> labels, DataThresholds th)
    {
        ArgumentNullException.ThrowIfNull(labels);
        ArgumentNullException.ThrowIfNull(th);
        if (labels.Count == 0) return (0, double.PositiveInfinity, false);
        long runs = 1;
        for (int i = 1; i < labels.Count; i++) if (labels[i] != labels[i - 1]) runs++;
        double meanRun = (double)labels.Count / runs;
        double sumP2 = labels.GroupBy(x => x).Sum(g => Math.Pow((double)g.Count() / labels.Count, 2));
        double expected = sumP2 >= 1 ? double.PositiveInfinity : 1 / (1 - sumP2);
        bool sorted = meanRun >= th.MinSortedRun && (double.IsInfinity(expected) || meanRun >= th.SortedRunFactor * expected);
        return (meanRun, expected, sorted);
    }

    /// <summary>
    /// TD3019 from a training loop: the class-index targets of the first batches handed to <c>Doctor.Loss</c>, in order, hold
    /// runs of one label (the loader does not shuffle data sorted by label). Needs at least two batches and two labels; null
    /// when the order looks random.
    /// </summary>
    public static Finding? SortedTrainingBatches(IReadOnlyList<long> labels, int batchSize, int batches, long step, DataThresholds th)
    {
        ArgumentNullException.ThrowIfNull(labels);
        ArgumentNullException.ThrowIfNull(th);
        if (batches < 2 || batchSize < 1 || labels.Distinct().Count() < 2) return null;
        var (meanRun, expected, sorted) = LabelRuns(labels, th);
        if (!sorted) return null;
        return Finding.Create(DataCodes.UnshuffledSorted, null,
            $"The training batches come sorted by label: {BatchRuns(labels, batchSize, th)} (the targets of the first {batches} batches given to the loss; " +
            $"mean run of one label {meanRun.ToString("0.#", CultureInfo.InvariantCulture)} samples, {expected.ToString("0.##", CultureInfo.InvariantCulture)} in a random order). Each step pushes the model toward one class, and it forgets the others.",
            "Shuffle the training data: `torch.utils.data.DataLoader(ds, batchSize, shuffle: true)`, or index each batch with `randperm` (keep the validation loader unshuffled).",
            Ev(("meanLabelRun", EvidenceValue.Of(meanRun, "0.#")), ("expectedRunIfShuffled", expected.ToString("0.##", CultureInfo.InvariantCulture)),
               ("batchesRead", Cn(batches))), step: step);
    }

    private static string BatchRuns(IReadOnlyList<long> labels, int batchSize, DataThresholds th)
    {
        var parts = new List<string>();
        int nb = labels.Count / batchSize;
        int start = 0;
        long? current = null;
        for (int b = 0; b <= nb; b++)
        {
            long? dom = null;
            if (b < nb)
            {
                var g = labels.Skip(b * batchSize).Take(batchSize).GroupBy(x => x).MaxBy(g => g.Count())!;
                dom = g.Count() >= th.DominatedBatchShare * batchSize ? g.Key : long.MinValue;
            }
            if (b == 0) { current = dom; continue; }
            if (dom != current)
            {
                parts.Add((start == b - 1 ? $"batch {start}" : $"batches {start}–{b - 1}") +
                          (current == long.MinValue ? " mixed" : $" only label {current}"));
                start = b;
                current = dom;
            }
            if (parts.Count == 4) break;
        }
        return string.Join(", ", parts) + (parts.Count == 4 ? ", …" : "");
    }

    /// <summary>Rule on loader throughput: the share of each training step spent waiting for the next batch.</summary>
    public static IEnumerable<Finding> Throughput(ThroughputObservation t, DataThresholds? thresholds = null)
    {
        var th = thresholds ?? DataThresholds.Default;
        if (t.Steps == 0 || t.WaitFraction < th.NoticeableWaitFraction) yield break;
        double wait = t.WaitMs / t.Steps, step = t.StepMs / t.Steps;
        var f = Finding.Create(DataCodes.LoaderBottleneck, "loader",
            $"Each training step waits {wait.ToString("0.##", CultureInfo.InvariantCulture)} ms for data and computes for {step.ToString("0.##", CultureInfo.InvariantCulture)} ms: {(t.WaitFraction * 100).ToString("0", CultureInfo.InvariantCulture)}% of the time goes to the loader.",
            (t.Workers <= 1 ? "Read samples in parallel (`DataLoader(..., num_worker: Environment.ProcessorCount)`); " : "") +
            "pre-process once instead of in every GetTensor (decode, resize and normalise the whole set once, then keep the tensors), cache decoded files in memory, and move fixed transforms out of the loop.",
            Ev(("waitMsPerStep", EvidenceValue.Of(wait, "0.###")), ("stepMsPerStep", EvidenceValue.Of(step, "0.###")),
               ("waitFraction", t.WaitFraction.ToString("0.###", CultureInfo.InvariantCulture)), ("workers", t.Workers.ToString(CultureInfo.InvariantCulture)), ("steps", t.Steps.ToString(CultureInfo.InvariantCulture))));
        yield return t.WaitFraction >= th.BottleneckWaitFraction ? f : f with { Severity = Severity.Info };
    }

    /// <summary>A shape as <c>[1, 28, 28]</c>.</summary>
    public static string ShapeText(IEnumerable<long> shape) => "[" + string.Join(", ", shape) + "]";

    private static Evidence Ev(params (string Key, EvidenceValue Value)[] items)
    {
        var e = new Evidence();
        foreach (var (k, v) in items) e.Add(k, v);
        return e;
    }
    private static EvidenceValue Cn(long v) => EvidenceValue.Count(v, grouped: true);
    private static EvidenceValue Gv(double v) => EvidenceValue.Of(v, "G6");
}
