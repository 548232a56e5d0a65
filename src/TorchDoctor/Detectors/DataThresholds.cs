namespace TorchDoctor.Detectors;

/// <summary>
/// Thresholds of the data detectors, with where each default comes from (the data counterpart of
/// <see cref="DetectorThresholds"/>). Change them through <c>DataCheckOptions.Thresholds</c> or pass them to a detector.
/// </summary>
public sealed record DataThresholds
{
    /// <summary>The defaults.</summary>
    public static DataThresholds Default { get; } = new();

    /// <summary>
    /// Images whose finite values lie in [0, 255] with a maximum above this are called raw 0–255 pixels. 1.5 leaves
    /// room for [0, 1] data with mild augmentation overshoot while any real 8-bit picture has pixels far above it.
    /// </summary>
    public double RawPixelMaxThreshold { get; init; } = 1.5;

    /// <summary>Per-channel |mean| at most this and std within [<see cref="NormalizedStdLow"/>, <see cref="NormalizedStdHigh"/>] counts as normalised.</summary>
    public double NormalizedMeanTolerance { get; init; } = 0.5;
    /// <summary>Lower bound of a normalised channel's std.</summary>
    public double NormalizedStdLow { get; init; } = 0.5;
    /// <summary>Upper bound of a normalised channel's std.</summary>
    public double NormalizedStdHigh { get; init; } = 2.0;

    /// <summary>Largest/smallest class count above this is imbalanced (a warning): at 3:1 an unweighted loss already favours the big class visibly.</summary>
    public double ImbalanceRatio { get; init; } = 3.0;
    /// <summary>Up to this ratio the classes are called balanced.</summary>
    public double BalancedRatio { get; init; } = 1.5;
    /// <summary>Above this ratio the imbalance is called severe.</summary>
    public double SevereRatio { get; init; } = 10.0;
    /// <summary>Class balance is judged only when the average class has at least this many samples (small random samples are noisy).</summary>
    public int MinSamplesPerClassForBalance { get; init; } = 20;

    /// <summary>A batch is dominated by one label when that label makes up at least this share of it.</summary>
    public double DominatedBatchShare { get; init; } = 0.8;
    /// <summary>
    /// An unshuffled order is called sorted when its mean run of equal labels is at least this many times the
    /// run expected of a random order with the same label frequencies (1 / (1 − Σp²)), and at least <see cref="MinSortedRun"/>.
    /// </summary>
    public double SortedRunFactor { get; init; } = 4.0;
    /// <summary>Shortest mean label run called sorted.</summary>
    public double MinSortedRun { get; init; } = 8.0;

    /// <summary>Waiting for data at least this share of a step makes the loader the bottleneck (a warning): the model idles half the time.</summary>
    public double BottleneckWaitFraction { get; init; } = 0.5;
    /// <summary>Waiting at least this share is reported as info.</summary>
    public double NoticeableWaitFraction { get; init; } = 0.2;

    /// <summary>A last batch smaller than this share of the batch size is reported.</summary>
    public double SmallLastBatchShare { get; init; } = 0.25;
}
