using TorchDoctor.Observations;
using System.Diagnostics;
using TorchDoctor.Detectors;
using TorchDoctor.Findings;
using static TorchSharp.torch;
using TorchDataLoader = TorchSharp.Modules.DataLoader;

namespace TorchDoctor.Data;

/// <summary>How <see cref="LoaderChecker"/> reads a loader.</summary>
public sealed record LoaderCheckOptions
{
    /// <summary>Whether the loader feeds training (an unshuffled order matters only there). Default true.</summary>
    public bool Training { get; init; } = true;
    /// <summary>The label field in batches; default: the first of <see cref="DatasetChecker.LabelNames"/> present.</summary>
    public string? LabelField { get; init; }
    /// <summary>Batches to read at most (shapes, label order). Default 100.</summary>
    public int MaxBatches { get; init; } = 100;
    /// <summary>Thresholds of the loader rules.</summary>
    public DataThresholds Thresholds { get; init; } = DataThresholds.Default;
}

/// <summary>The result of a loader check.</summary>
/// <param name="Observation">Configuration and what the batches showed.</param>
/// <param name="Findings">The findings.</param>
public sealed record LoaderReport(LoaderObservation Observation, IReadOnlyList<Finding> Findings);

/// <summary>
/// Checks a TorchSharp <see cref="TorchDataLoader"/>: batch size against the data set size, the last batch and
/// drop_last, an unshuffled training loader over data sorted by label (label runs across consecutive batches),
/// batches whose shapes differ or cannot be collated; and, given a training step, the share of each step spent
/// waiting for data.
/// </summary>
public static class LoaderChecker
{
    /// <summary>Reads up to <see cref="LoaderCheckOptions.MaxBatches"/> batches and applies the loader rules.</summary>
    public static LoaderReport Check(TorchDataLoader loader, LoaderCheckOptions? options = null)
    {
        Runtime.TorchRuntime.EnsureLoaded();
        options ??= new LoaderCheckOptions();
        long samples = loader.dataset.Count;
        int bs = loader.batch_size;
        long rem = bs <= 0 ? 0 : samples % bs;
        var first = loader.sampler.Take((int)Math.Min(samples, 256)).ToList();
        bool shuffled = first.Where((x, i) => x != i).Any();
        var shapes = new Dictionary<string, List<(string Shape, long Count, List<long> Idx)>>();
        var labels = new List<long>();
        string? labelField = options.LabelField;
        (long, string)? failure = null;
        int read = 0;
        using (var e = loader.GetEnumerator())
        {
            for (int b = 0; b < options.MaxBatches; b++)
            {
                try
                {
                    if (!e.MoveNext()) break;
                }
                catch (Exception ex)
                {
                    failure = (b, $"{ex.GetType().Name}: {ex.Message.Split('\n')[0].Trim()}");
                    break;
                }
                read++;
                var batch = e.Current;
                using (NewDisposeScope())
                {
                    labelField ??= DatasetChecker.LabelNames.Select(n => batch.Keys.FirstOrDefault(k => k.Equals(n, StringComparison.OrdinalIgnoreCase))).FirstOrDefault(k => k is not null);
                    foreach (var (key, t) in batch)
                    {
                        var shape = DataDetectors.ShapeText(t.shape.Skip(1)) + " " + t.dtype;
                        if (!shapes.TryGetValue(key, out var list)) shapes[key] = list = [];
                        int i = list.FindIndex(x => x.Shape == shape);
                        if (i < 0) list.Add((shape, 1, [b]));
                        else
                        {
                            var g = list[i];
                            if (g.Idx.Count < 10) g.Idx.Add(b);
                            list[i] = (g.Shape, g.Count + 1, g.Idx);
                        }
                    }
                    if (labelField is not null && batch.TryGetValue(labelField, out var lt))
                    {
                        var flat = lt.cpu().flatten().to_type(ScalarType.Float64);
                        if (flat.shape[0] == batch.Values.First().shape[0])
                            foreach (var v in flat.data<double>().ToArray()) labels.Add(double.IsFinite(v) ? (long)v : long.MinValue);
                    }
                }
                if (!loader.DisposeBatch) foreach (var t in batch.Values) t.Dispose();
            }
        }
        var obs = new LoaderObservation
        {
            Samples = samples, BatchSize = bs, DropLast = loader.drop_last, Shuffled = shuffled, Training = options.Training,
            Batches = loader.Count,
            LastBatchSize = samples == 0 || bs <= 0 ? 0 : rem == 0 ? Math.Min(bs, samples) : loader.drop_last ? 0 : rem,
            BatchesRead = read,
            BatchShapes = shapes.ToDictionary(kv => kv.Key, kv => (IReadOnlyList<ValueGroup>)kv.Value.Select(g => new ValueGroup(g.Shape, g.Count, g.Idx)).ToList()),
            BatchFailure = failure,
            LabelField = labelField,
            LabelOrder = labels,
        };
        return new LoaderReport(obs, DataDetectorSet.Run(new DataSetObservations { Loader = obs }, options.Thresholds).OrderByDescending(f => f.Severity).ToList());
    }

    /// <summary>
    /// Times <paramref name="steps"/> training steps: the wait for each batch (the loader's MoveNext) and the
    /// model step (<paramref name="step"/>: forward, loss, backward, optimizer step).
    /// </summary>
    public static ThroughputObservation MeasureThroughput(TorchDataLoader loader, Action<Dictionary<string, Tensor>> step, int steps = 20)
    {
        Runtime.TorchRuntime.EnsureLoaded();
        double wait = 0, work = 0;
        int n = 0;
        var sw = new Stopwatch();
        using var e = loader.GetEnumerator();
        while (n < steps)
        {
            sw.Restart();
            if (!e.MoveNext()) break;
            wait += sw.Elapsed.TotalMilliseconds;
            sw.Restart();
            using (NewDisposeScope()) step(e.Current);
            work += sw.Elapsed.TotalMilliseconds;
            n++;
        }
        return new ThroughputObservation(n, wait, work, loader.num_workers);
    }

    /// <summary>Times the steps (see <see cref="MeasureThroughput"/>) and applies the throughput rule.</summary>
    public static (ThroughputObservation Observation, IReadOnlyList<Finding> Findings) CheckThroughput(
        TorchDataLoader loader, Action<Dictionary<string, Tensor>> step, int steps = 20)
    {
        var t = MeasureThroughput(loader, step, steps);
        return (t, DataDetectorSet.Run(new DataSetObservations { Throughput = t }).ToList());
    }
}
