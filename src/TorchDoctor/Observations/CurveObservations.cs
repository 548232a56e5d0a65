namespace TorchDoctor.Observations;

/// <summary>The loss function a loss call used (what the curve and loss-call rules need to know; none of them guesses it).</summary>
public enum LossKind
{
    /// <summary><c>functional.cross_entropy(logits, classIndices)</c>: expects logits.</summary>
    CrossEntropy,
    /// <summary><c>functional.nll_loss(logProbabilities, classIndices)</c>.</summary>
    NllLoss,
    /// <summary><c>functional.binary_cross_entropy(probabilities, target)</c>.</summary>
    BinaryCrossEntropy,
    /// <summary><c>functional.binary_cross_entropy_with_logits(logits, target)</c>: expects logits.</summary>
    BinaryCrossEntropyWithLogits,
    /// <summary><c>functional.mse_loss(output, target)</c>.</summary>
    Mse,
    /// <summary><c>functional.l1_loss(output, target)</c>.</summary>
    L1,
    /// <summary><c>functional.smooth_l1_loss(output, target)</c>.</summary>
    SmoothL1,
}

/// <summary>Helpers over <see cref="LossKind"/>.</summary>
public static class LossKinds
{
    /// <summary>True for the classification losses whose uniform-prediction value is known (ln C or ln 2).</summary>
    public static bool IsClassification(this LossKind k) => k is LossKind.CrossEntropy or LossKind.NllLoss or LossKind.BinaryCrossEntropy or LossKind.BinaryCrossEntropyWithLogits;
    /// <summary>True for the losses that apply log-softmax / log-sigmoid themselves and so expect raw logits.</summary>
    public static bool ExpectsLogits(this LossKind k) => k is LossKind.CrossEntropy or LossKind.BinaryCrossEntropyWithLogits;
    /// <summary>The functional name, e.g. <c>cross_entropy</c>.</summary>
    public static string FunctionName(this LossKind k) => k switch
    {
        LossKind.CrossEntropy => "cross_entropy",
        LossKind.NllLoss => "nll_loss",
        LossKind.BinaryCrossEntropy => "binary_cross_entropy",
        LossKind.BinaryCrossEntropyWithLogits => "binary_cross_entropy_with_logits",
        LossKind.Mse => "mse_loss",
        LossKind.L1 => "l1_loss",
        _ => "smooth_l1_loss",
    };
}

/// <summary>What the user measured at the end of an epoch (or of any evaluation).</summary>
public sealed record EpochRecord
{
    /// <summary>Epoch index (0 = first).</summary>
    public required int Epoch { get; init; }
    /// <summary>Mean training loss over the epoch.</summary>
    public required double TrainLoss { get; init; }
    /// <summary>Validation loss, when measured.</summary>
    public double? ValLoss { get; init; }
    /// <summary>Training accuracy in [0, 1], when measured.</summary>
    public double? TrainAccuracy { get; init; }
    /// <summary>Validation accuracy in [0, 1], when measured.</summary>
    public double? ValAccuracy { get; init; }
    /// <summary>Learning rate at the end of the epoch (first param group), when known.</summary>
    public double? LearningRate { get; init; }
    /// <summary>The last training step of the epoch, when known.</summary>
    public long? Step { get; init; }
    /// <summary>Any other named metric.</summary>
    public IReadOnlyDictionary<string, double> Metrics { get; init; } = new Dictionary<string, double>();
}

/// <summary>One training step's loss, learning rate and (at sampled steps) the median weight update ratio.</summary>
/// <param name="Step">Training step.</param>
/// <param name="Loss">Training loss of the step.</param>
/// <param name="LearningRate">Learning rate of the first param group, when known.</param>
/// <param name="UpdateRatio">Median ‖Δw‖/‖w‖ over weight matrices at this step (sampled steps only).</param>
public sealed record StepRecord(long Step, double Loss, double? LearningRate = null, double? UpdateRatio = null);

/// <summary>
/// A training run's curves, the input of <see cref="Detectors.CurveDetectors"/>: epoch records and recent step losses,
/// plus what is known about the loss and the optimizer. Built by the doctor during training, or from logs
/// (TensorBoard scalars) without a live model.
/// </summary>
public sealed record TrainingCurve
{
    /// <summary>Epoch records, oldest first (a bounded number of the most recent epochs).</summary>
    public IReadOnlyList<EpochRecord> Epochs { get; init; } = [];
    /// <summary>Recent step records, oldest first (a bounded window).</summary>
    public IReadOnlyList<StepRecord> Steps { get; init; } = [];
    /// <summary>The first losses of the run (up to 20), kept even when <see cref="Steps"/> has moved on.</summary>
    public IReadOnlyList<double> InitialLosses { get; init; } = [];
    /// <summary>The lowest smoothed step loss seen in the run, when tracked beyond <see cref="Steps"/>.</summary>
    public double? BestSmoothedLoss { get; init; }
    /// <summary>The largest learning rate seen in the run.</summary>
    public double? PeakLearningRate { get; init; }
    /// <summary>The loss function, when told; null means unknown (rules that need it do not run).</summary>
    public LossKind? LossKind { get; init; }
    /// <summary>Number of classes of a cross-entropy/NLL loss (the output's last dimension), when known.</summary>
    public int? Classes { get; init; }
    /// <summary>The optimizer's type name, e.g. <c>Adam</c>, <c>AdamW</c>, <c>SGD</c>; null when unknown.</summary>
    public string? Optimizer { get; init; }
    /// <summary>The largest <c>weight_decay</c> of the optimizer's param groups; null when unknown.</summary>
    public double? WeightDecay { get; init; }
    /// <summary>True when gradient accumulation through the helper is in use (steps are micro-batches).</summary>
    public bool Accumulating { get; init; }
}
