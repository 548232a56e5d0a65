using System.Globalization;
using TorchDoctor.Data;
using TorchDoctor.Findings;
using TorchSharp;
using static TorchSharp.torch;
using static TorchSharp.torch.nn;
using Dataset = TorchSharp.torch.utils.data.Dataset;

namespace TorchDoctor.Demos;

/// <summary>The faults <see cref="BadDataDemo"/> injects into its training split, with where they are.</summary>
/// <param name="NaNIndices">Samples with NaN pixels.</param>
/// <param name="BadLabelIndex">The sample whose label equals the class count.</param>
/// <param name="BadLabel">That label (= the class count).</param>
/// <param name="Leaked">Training samples copied from the validation split: (train index, validation index).</param>
/// <param name="Duplicates">Training samples that repeat another training sample: (index, index of the original).</param>
public sealed record InjectedFaults(IReadOnlyList<long> NaNIndices, long BadLabelIndex, long BadLabel,
    IReadOnlyList<(long TrainIndex, long ValidationIndex)> Leaked, IReadOnlyList<(long Index, long CopyOf)> Duplicates);

/// <summary>
/// <c>torchdoctor demo bad-data</c>: a training set with injected faults (pixels left in 0–255, a label equal to the
/// class count, a few NaN samples, exact duplicates and samples copied from the validation split, labels sorted with
/// shuffling off). The data and loader checks name each fault with its index and field; the fix run cleans the
/// pipeline (drop bad samples, deduplicate, scale, normalise with the measured values, shuffle) and trains again.
/// </summary>
public sealed class BadDataDemo : IDemoCase
{
    /// <inheritdoc />
    public string Name => "bad-data";

    /// <inheritdoc />
    public string Description => "A data pipeline with unscaled pixels, an out-of-range label, NaN samples, duplicates, train/validation leakage and sorted unshuffled labels; check, clean, retrain.";

    /// <summary>Batch size of both runs.</summary>
    public const int BatchSize = 32;

    /// <summary>Default training steps (about 4 epochs of the generated set).</summary>
    public const int DefaultSteps = 250;

    /// <summary>Builds the faulty training split and the validation split, and says where each fault is.</summary>
    public static (RawImageSet Train, RawImageSet Validation, InjectedFaults Faults) Build(DemoOptions options)
    {
        var (train, val) = options.Data == "fashion-mnist" ? GeneratedData.FashionMnistSubset() : GeneratedData.Create(seed: options.Seed);
        // Sorted by label, as files written class by class often are.
        var order = Enumerable.Range(0, train.Count).OrderBy(i => train.Labels[i]).ThenBy(i => i).ToList();
        var pixels = order.Select(i => (float[])train.Pixels[i].Clone()).ToList();
        var labels = order.Select(i => train.Labels[i]).ToList();
        int k = train.Classes;
        long Start(long c) => labels.IndexOf(c);
        // Exact duplicates inside the training split.
        var dups = new List<(long, long)>();
        foreach (var c in new long[] { 1, 3, 5, 7 })
        {
            long orig = Start(c) + 10, copy = Start(c) + 150;
            pixels[(int)copy] = (float[])pixels[(int)orig].Clone();
            dups.Add((copy, orig));
        }
        // Validation samples copied into the training split (same class region, so the order stays sorted).
        var leaked = new List<(long, long)>();
        for (int j = 0; j < 12; j++)
        {
            long c = j % k;
            int v = val.Labels.Select((l, i) => (l, i)).Where(x => x.l == c).Skip(j / k).First().i;
            long t = Start(c) + 120 + j / k;
            pixels[(int)t] = (float[])val.Pixels[v].Clone();
            leaked.Add((t, v));
        }
        // A few NaN samples (a failed decode, a division by zero upstream).
        var nans = new List<long> { Start(2) + 37, Start(6) + 61, Start(8) + 5 };
        foreach (var i in nans)
            for (int p = 0; p < pixels[(int)i].Length; p += 7) pixels[(int)i][p] = float.NaN;
        // A label equal to the class count (1-based labels, or an "unknown" class).
        long bad = Start(4) + 77;
        labels[(int)bad] = k;
        return (new RawImageSet(pixels, labels, train.SampleShape, k), val, new InjectedFaults(nans, bad, k, leaked, dups));
    }

    /// <summary>The model both runs train: Flatten → Linear(pixels, 64) → ReLU → Linear(64, classes).</summary>
    public static TorchSharp.Modules.Sequential CreateModel(long[] sampleShape, int classes) => Sequential(
        ("flatten", Flatten()),
        ("fc1", Linear(sampleShape.Aggregate(1L, (a, b) => a * b), 64)),
        ("relu", ReLU()),
        ("fc2", Linear(64, classes)));

    /// <summary>Runs the data check and the loader check of a pipeline.</summary>
    public static IReadOnlyList<Finding> Check(Dataset train, Dataset validation, Module model, bool shuffle, long seed)
    {
        var report = DatasetChecker.Check([new DataSplit("train", train), new DataSplit("validation", validation)], new DataCheckOptions { Model = model });
        using var loader = new TorchSharp.Modules.DataLoader(train, BatchSize, shuffle, seed: (int)seed, disposeDataset: false);
        var loaderReport = LoaderChecker.Check(loader);
        return report.Findings.Concat(loaderReport.Findings).OrderByDescending(f => f.Severity).ToList();
    }

    /// <inheritdoc />
    public DemoResult Run(DemoOptions options)
    {
        Runtime.TorchRuntime.EnsureLoaded();
        int steps = options.Steps ?? DefaultSteps;
        var (train, val, faults) = Build(options);
        options.Log?.Invoke($"{(options.Data == "fashion-mnist" ? "Fashion-MNIST subset" : "generated data")}: {train.Count} training and {val.Count} validation images {string.Join("×", train.SampleShape)}, {train.Classes} classes; injected faults at " +
            $"NaN {string.Join(",", faults.NaNIndices)}, label {faults.BadLabel} at {faults.BadLabelIndex}, {faults.Leaked.Count} validation copies, {faults.Duplicates.Count} duplicates; sorted, shuffle off.");

        // Before: the faulty pipeline as written (no scaling, no cleaning, shuffle off).
        using var beforeTrain = train.Unscaled();
        using var beforeVal = val.Unscaled();
        DemoRun before;
        using (var probe = CreateModel(train.SampleShape, train.Classes))
        {
            var findings = Check(beforeTrain, beforeVal, probe, shuffle: false, options.Seed);
            options.Log?.Invoke($"before: {findings.Count} findings; training {steps} steps with shuffle off");
            before = new DemoRun("before: raw pipeline, shuffle off", Train(beforeTrain, beforeVal, train, shuffle: false, steps, options.Seed), findings);
        }
        if (!options.Fix) return new DemoResult(Name, before, null, "");

        // After: drop unreadable/NaN samples and bad labels, deduplicate against validation and itself, scale, normalise, shuffle.
        var valKeys = new HashSet<string>(val.Pixels.Select(Key));
        var seen = new HashSet<string>();
        var keep = new List<int>();
        for (int i = 0; i < train.Count; i++)
        {
            var p = train.Pixels[i];
            if (p.Any(float.IsNaN) || train.Labels[i] < 0 || train.Labels[i] >= train.Classes) continue;
            var key = Key(p);
            if (valKeys.Contains(key) || !seen.Add(key)) continue;
            keep.Add(i);
        }
        var clean = new RawImageSet(keep.Select(i => train.Pixels[i]).ToList(), keep.Select(i => train.Labels[i]).ToList(), train.SampleShape, train.Classes);
        var (mean, std) = clean.Statistics();
        using var afterTrain = clean.Normalized(mean, std);
        using var afterVal = val.Normalized(mean, std);
        DemoRun after;
        using (var probe = CreateModel(train.SampleShape, train.Classes))
        {
            var findings = Check(afterTrain, afterVal, probe, shuffle: true, options.Seed);
            options.Log?.Invoke($"after: removed {train.Count - clean.Count} samples, Normalize({mean:0.0000}, {std:0.0000}), shuffle on; {findings.Count} findings");
            after = new DemoRun("after: cleaned, scaled, normalised, shuffled", Train(afterTrain, afterVal, clean, shuffle: true, steps, options.Seed), findings);
        }
        var remedy = $"drop the {faults.NaNIndices.Count} NaN samples and the label-{faults.BadLabel} sample, remove {train.Count - clean.Count - faults.NaNIndices.Count - 1} duplicates/validation copies, " +
                     $"`x.div(255)` then {Detectors.DataDetectors.NormalizeCall([mean], [std])}, DataLoader(..., shuffle: true)";
        return new DemoResult(Name, before, after, remedy);
    }

    private static string Key(float[] p) => Convert.ToBase64String(System.Runtime.InteropServices.MemoryMarshal.AsBytes(p.AsSpan()));

    private static Dictionary<string, double> Train(Dataset train, Dataset val, RawImageSet shape, bool shuffle, int steps, long seed)
    {
        random.manual_seed(seed);
        using var model = CreateModel(shape.SampleShape, shape.Classes);
        using var opt = optim.SGD(model.parameters(), 0.02, momentum: 0.9);
        using var loader = new TorchSharp.Modules.DataLoader(train, BatchSize, shuffle, seed: (int)seed, disposeDataset: false);
        int done = 0, failed = 0, nonFinite = 0;
        var losses = new List<double>();
        model.train();
        while (done < steps)
        {
            foreach (var batch in loader)
            {
                if (done >= steps) break;
                done++;
                using var scope = NewDisposeScope();
                try
                {
                    opt.zero_grad();
                    var loss = functional.cross_entropy(model.call(batch["data"]), batch["label"]);
                    loss.backward();
                    opt.step();
                    double l = loss.item<float>();
                    if (!double.IsFinite(l)) nonFinite++;
                    losses.Add(l);
                }
                catch (Exception e) when (e is not OutOfMemoryException)
                {
                    failed++; // e.g. "Target 10 is out of bounds": a real loop would stop here.
                }
            }
        }
        model.eval();
        long correct = 0, total = 0;
        using (no_grad())
        using (var vl = new TorchSharp.Modules.DataLoader(val, 256, false, disposeDataset: false))
            foreach (var batch in vl)
            {
                using var scope = NewDisposeScope();
                var pred = model.call(batch["data"]).argmax(1);
                correct += pred.eq(batch["label"]).sum().item<long>();
                total += batch["label"].shape[0];
            }
        var tail = losses.Skip(Math.Max(0, losses.Count - 20)).ToList();
        return new Dictionary<string, double>
        {
            ["validationAccuracy"] = total == 0 ? double.NaN : (double)correct / total,
            ["finalLoss"] = tail.Count == 0 ? double.NaN : tail.Average(),
            ["failedSteps"] = failed,
            ["nonFiniteLossSteps"] = nonFinite,
            ["trainSamples"] = train.Count,
        };
    }
}
