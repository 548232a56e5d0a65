using TorchDoctor.Findings;
using TorchDoctor.Observations;

namespace TorchDoctor.Detectors;

/// <summary>
/// A rule family over data observations: pure, like <see cref="ITrainingDetector"/> — the same observations and
/// thresholds give the same findings.
/// </summary>
public interface IDataDetector
{
    /// <summary>Findings for one split's observations.</summary>
    IEnumerable<Finding> Detect(DataSetObservations data, DataThresholds thresholds);
}

/// <summary>The built-in data detectors, one per rule family, in the order the checkers run them.</summary>
public static class DataDetectorSet
{
    /// <summary>Samples that failed to load (TD3001).</summary>
    public sealed class Failures : IDataDetector
    {
        /// <inheritdoc />
        public IEnumerable<Finding> Detect(DataSetObservations data, DataThresholds thresholds) => DataDetectors.Failures(data.Failures, data.ShowSplit);
    }

    /// <summary>Fields: structure, NaN/Inf, constant fields, image range and layout (TD3002–TD3011).</summary>
    public sealed class Fields : IDataDetector
    {
        /// <inheritdoc />
        public IEnumerable<Finding> Detect(DataSetObservations data, DataThresholds thresholds)
            => data.Fields.SelectMany(f => DataDetectors.Field(f, data.Model, data.ShowSplit, data.Primary, thresholds));
    }

    /// <summary>Labels: dtype, range, class balance (TD3012–TD3014); against a bce/mse loss, the loss's own label rules (TD3027).</summary>
    public sealed class Labels : IDataDetector
    {
        /// <inheritdoc />
        public IEnumerable<Finding> Detect(DataSetObservations data, DataThresholds thresholds)
            => data.Labels is not { } l ? []
             : data.Loss is "bce" or "mse" ? DataInputDetectors.LabelsForLoss(l, data.Loss)
             : DataDetectors.Labels(l, data.ShowSplit, thresholds);
    }

    /// <summary>Duplicate samples (TD3015).</summary>
    public sealed class Duplicates : IDataDetector
    {
        /// <inheritdoc />
        public IEnumerable<Finding> Detect(DataSetObservations data, DataThresholds thresholds)
            => data.Duplicates is { } d ? DataDetectors.Duplicates(d, data.ShowSplit) : [];
    }

    /// <summary>Samples shared between splits (TD3016).</summary>
    public sealed class Leakage : IDataDetector
    {
        /// <inheritdoc />
        public IEnumerable<Finding> Detect(DataSetObservations data, DataThresholds thresholds) => data.Leakage.SelectMany(DataDetectors.Leakage);
    }

    /// <summary>Loader settings and batches (TD3017–TD3020).</summary>
    public sealed class Loader : IDataDetector
    {
        /// <inheritdoc />
        public IEnumerable<Finding> Detect(DataSetObservations data, DataThresholds thresholds)
            => data.Loader is { } o ? DataDetectors.Loader(o, thresholds) : [];
    }

    /// <summary>Loader throughput (TD3021).</summary>
    public sealed class Throughput : IDataDetector
    {
        /// <inheritdoc />
        public IEnumerable<Finding> Detect(DataSetObservations data, DataThresholds thresholds)
            => data.Throughput is { } t ? DataDetectors.Throughput(t, thresholds) : [];
    }

    /// <summary>Every built-in data detector.</summary>
    public static IReadOnlyList<IDataDetector> All { get; } =
        [new Failures(), new Fields(), new Labels(), new Duplicates(), new Leakage(), new Loader(), new Throughput()];

    /// <summary>Runs <paramref name="detectors"/> (default <see cref="All"/>) over <paramref name="data"/>.</summary>
    public static IEnumerable<Finding> Run(DataSetObservations data, DataThresholds? thresholds = null, IReadOnlyList<IDataDetector>? detectors = null)
        => (detectors ?? All).SelectMany(d => d.Detect(data, thresholds ?? DataThresholds.Default));
}
