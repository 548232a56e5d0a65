namespace TorchDoctor.Observations;

/// <summary>
/// What the data checker (or the loader checker) observed in one split, handed to every data detector — the data
/// counterpart of <see cref="StepObservations"/>. Parts that were not observed are empty or null.
/// </summary>
public sealed record DataSetObservations
{
    /// <summary>Split name, e.g. <c>train</c>.</summary>
    public string Split { get; init; } = "train";
    /// <summary>True for the first (training) split: Normalize values are computed from it.</summary>
    public bool Primary { get; init; } = true;
    /// <summary>True when several splits were checked: findings name the split.</summary>
    public bool ShowSplit { get; init; }
    /// <summary>The loss the labels will meet (<c>cross-entropy</c> when null, <c>bce</c>, <c>mse</c>): it decides which label rules apply.</summary>
    public string? Loss { get; init; }
    /// <summary>What the model expects (classes, channels), when known.</summary>
    public ModelExpectations? Model { get; init; }
    /// <summary>Samples whose reading threw.</summary>
    public IReadOnlyList<SampleFailure> Failures { get; init; } = [];
    /// <summary>One observation per field.</summary>
    public IReadOnlyList<FieldObservation> Fields { get; init; } = [];
    /// <summary>The label field, when there is one.</summary>
    public LabelObservation? Labels { get; init; }
    /// <summary>Duplicate samples within the split.</summary>
    public DuplicateObservation? Duplicates { get; init; }
    /// <summary>Samples shared with the training split (for the other splits).</summary>
    public IReadOnlyList<LeakageObservation> Leakage { get; init; } = [];
    /// <summary>A DataLoader's configuration and batches.</summary>
    public LoaderObservation? Loader { get; init; }
    /// <summary>Time spent waiting for data.</summary>
    public ThroughputObservation? Throughput { get; init; }
}
