namespace TorchDoctor.Observations;

/// <summary>The learning curves of one run, found among its tags: train/validation loss and accuracy (any may be missing).</summary>
public sealed record CurveSet
{
    /// <summary>Run name.</summary>
    public required string Run { get; init; }
    /// <summary>Training loss tag, or null.</summary>
    public string? TrainLossTag { get; init; }
    /// <summary>Validation loss tag, or null.</summary>
    public string? ValLossTag { get; init; }
    /// <summary>Training accuracy tag, or null.</summary>
    public string? TrainAccuracyTag { get; init; }
    /// <summary>Validation accuracy tag, or null.</summary>
    public string? ValAccuracyTag { get; init; }
    /// <summary>Training loss by step.</summary>
    public IReadOnlyList<ScalarPoint> TrainLoss { get; init; } = [];
    /// <summary>Validation loss by step.</summary>
    public IReadOnlyList<ScalarPoint> ValLoss { get; init; } = [];
    /// <summary>Training accuracy by step.</summary>
    public IReadOnlyList<ScalarPoint> TrainAccuracy { get; init; } = [];
    /// <summary>Validation accuracy by step.</summary>
    public IReadOnlyList<ScalarPoint> ValAccuracy { get; init; } = [];
}

/// <summary>One logged scalar: the step it was logged at, its value and the wall time (seconds since the Unix epoch; 0 when unknown).</summary>
/// <param name="Step">Global step.</param>
/// <param name="Value">The value.</param>
/// <param name="WallTime">Seconds since the Unix epoch.</param>
public readonly record struct ScalarPoint(long Step, double Value, double WallTime);
