namespace TorchDoctor.Observations;

/// <summary>What a loss call (<c>Doctor.Loss</c>) saw before computing the loss.</summary>
public sealed record LossCallObservation
{
    /// <summary>Training step.</summary>
    public required long Step { get; init; }
    /// <summary>The loss function.</summary>
    public required LossKind Kind { get; init; }
    /// <summary>Shape of the model output (the loss input).</summary>
    public required long[] OutputShape { get; init; }
    /// <summary>Shape of the target.</summary>
    public required long[] TargetShape { get; init; }
    /// <summary>Dtype of the output, e.g. <c>Float32</c>.</summary>
    public required string OutputDtype { get; init; }
    /// <summary>Dtype of the target, e.g. <c>Int64</c>.</summary>
    public required string TargetDtype { get; init; }
    /// <summary>Path of the innermost module whose output is the loss input, when hooks saw it.</summary>
    public string? Producer { get; init; }
    /// <summary>Type of that module, e.g. <c>Softmax</c>.</summary>
    public string? ProducerType { get; init; }
    /// <summary>Minimum of the output values.</summary>
    public double Min { get; init; }
    /// <summary>Maximum of the output values.</summary>
    public double Max { get; init; }
    /// <summary>Largest |row sum − 1| over the class dimension (dim 1), or NaN when the output has one dimension.</summary>
    public double MaxRowSumError { get; init; } = double.NaN;
    /// <summary>Mean of the target values (for binary losses: the fraction of positives), when floating point.</summary>
    public double? TargetMean { get; init; }
}

/// <summary>A forward pass of the model outside a training step (an evaluation), as the loop probe saw it.</summary>
/// <param name="AfterStep">The last training step before it.</param>
/// <param name="TrainingModeModules">Modules with train/eval behaviour (Dropout, BatchNorm, …) that were in training mode.</param>
/// <param name="ModeModules">All modules with train/eval behaviour.</param>
/// <param name="GradEnabled">Grad mode was on and the output required grad.</param>
/// <param name="BytesHeld">Bytes of module outputs held by the autograd graph (when <paramref name="GradEnabled"/>).</param>
/// <param name="MeasuredBytes">
/// Measured when grad mode was on: native bytes in use after a collection, after the forward (output kept) minus before
/// it: the output and everything its graph keeps (<c>InferenceMemory.Measure</c>'s measurement, on the live pass). Null
/// when not measured (grad off, or already reported).
/// </param>
/// <param name="OutputBytes">Bytes of the model's output tensor: what the same forward holds under <c>torch.no_grad()</c> after a collection.</param>
/// <param name="InDisposeScope">
/// The forward created its tensors inside a dispose scope: its intermediate tensors are then held until the scope ends
/// with grad mode on or off, so <see cref="MeasuredBytes"/> includes them.
/// </param>
public sealed record EvaluationObservation(long AfterStep, IReadOnlyList<string> TrainingModeModules, int ModeModules, bool GradEnabled, long BytesHeld,
    long? MeasuredBytes = null, long OutputBytes = 0, bool InDisposeScope = false)
{
    /// <summary>Measured bytes beyond the output (the graph, and in a dispose scope the scope's intermediates), or null.</summary>
    public long? BeyondOutput => MeasuredBytes is { } m ? Math.Max(0, m - OutputBytes) : null;
}
