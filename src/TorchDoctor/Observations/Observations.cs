namespace TorchDoctor.Observations;

/// <summary>
/// Anything a probe or monitor observed at one step: the plain records that flow from monitors to detectors and sinks.
/// Monitors may define their own (a record implementing this) and emit them through <c>StepContext.Emit</c>.
/// </summary>
public interface IObservation
{
    /// <summary>The training step it was observed at.</summary>
    long Step { get; }
}

/// <summary>The end of an epoch, as reported by <c>Doctor.EndEpoch</c>.</summary>
/// <param name="Step">The last step of the epoch.</param>
/// <param name="Record">What the loop reported: epoch number, losses, accuracies, metrics.</param>
public sealed record EpochObservation(long Step, EpochRecord Record) : IObservation;

/// <summary>What an activation probe copied out of one module call's output (and input) at one step.</summary>
public sealed record ActivationObservation : IObservation
{
    /// <summary>Training step.</summary>
    public required long Step { get; init; }
    /// <summary>Module path.</summary>
    public required string Module { get; init; }
    /// <summary>Module type, e.g. <c>ReLU</c>.</summary>
    public required string ModuleType { get; init; }
    /// <summary>Order in which the call finished within the step (0 = first). The first non-finite
    /// output by this order is the innermost module that produced it.</summary>
    public required int ExitOrder { get; init; }
    /// <summary>Elements in the output.</summary>
    public long Elements { get; init; }
    /// <summary>Mean of the finite output values.</summary>
    public double Mean { get; init; }
    /// <summary>Standard deviation of the output.</summary>
    public double Std { get; init; }
    /// <summary>Minimum.</summary>
    public double Min { get; init; }
    /// <summary>Maximum.</summary>
    public double Max { get; init; }
    /// <summary>Fraction of outputs exactly 0 (ReLU-family modules only, where it means units not firing; null otherwise).</summary>
    public double? ZeroFraction { get; init; }
    /// <summary>Fraction of units (output positions beyond the batch dimension) that are ≤ 0 for every sample of the batch; null when not a ReLU-family module.</summary>
    public double? DeadUnitFraction { get; init; }
    /// <summary>
    /// Fraction of units that fired for no sample of any batch since this module's current run of sampled steps with at least
    /// <see cref="Detectors.DetectorThresholds.DeadReluFraction"/> zero outputs began (this batch alone when the run starts
    /// here, or when the output is below that fraction): the dead units, as opposed to units a sparse layer keeps for other
    /// samples. Null when not a ReLU-family module with a batch dimension.
    /// </summary>
    public double? NeverFiredFraction { get; init; }
    /// <summary>For sigmoid/tanh: fraction of pre-activations (inputs) beyond ±5; null otherwise.</summary>
    public double? SaturatedFraction { get; init; }
    /// <summary>Non-finite values (NaN, ±Inf) in the output.</summary>
    public long NonFinite { get; init; }
    /// <summary>Non-finite values in the inputs.</summary>
    public long InputNonFinite { get; init; }
    /// <summary>NaN count of the output (set when <see cref="NonFinite"/> &gt; 0).</summary>
    public long NaN { get; init; }
    /// <summary>+Inf count of the output (set when non-finite).</summary>
    public long PosInf { get; init; }
    /// <summary>−Inf count of the output (set when non-finite).</summary>
    public long NegInf { get; init; }
    /// <summary>Minimum of the (finite) input, when non-finite output was seen.</summary>
    public double? InputMin { get; init; }
    /// <summary>Maximum of the (finite) input, when non-finite output was seen.</summary>
    public double? InputMax { get; init; }
    /// <summary>Exact zeros in the input, when non-finite output was seen.</summary>
    public long? InputZeros { get; init; }
    /// <summary>True when the module's own parameters hold NaN/Inf (checked when its output is non-finite): then
    /// it is not an origin, an earlier update poisoned it.</summary>
    public bool ParametersNonFinite { get; init; }
    /// <summary>True when only the cheap finiteness check ran (not a sampled step).</summary>
    public bool FinitenessOnly { get; init; }
}

/// <summary>The gradient flowing back into a module's output at one step (from the activation-gradient probe).</summary>
/// <param name="Step">Training step.</param>
/// <param name="Module">Module path.</param>
/// <param name="BackwardOrder">Order in which backward reached this module (0 = first, nearest the loss).</param>
/// <param name="Norm">L2 norm of the gradient (NaN when it is not finite).</param>
/// <param name="NonFinite">Non-finite elements in the gradient.</param>
public sealed record ActivationGradientObservation(long Step, string Module, int BackwardOrder, double Norm, long NonFinite) : IObservation;

/// <summary>One parameter after backward at one step.</summary>
public sealed record ParameterObservation : IObservation
{
    /// <summary>Training step.</summary>
    public required long Step { get; init; }
    /// <summary>Full parameter name, e.g. <c>layers.0.weight</c>.</summary>
    public required string Name { get; init; }
    /// <summary>Path of the module that owns it.</summary>
    public required string Module { get; init; }
    /// <summary>Position of the owning module in forward execution order (first call), or int.MaxValue if it never ran.</summary>
    public required int ExecutionOrder { get; init; }
    /// <summary>Number of dimensions (weights ≥ 2, biases 1).</summary>
    public int Rank { get; init; }
    /// <summary>Elements.</summary>
    public long Elements { get; init; }
    /// <summary>Whether it requires a gradient.</summary>
    public bool RequiresGrad { get; init; }
    /// <summary>Whether backward produced a gradient.</summary>
    public bool HasGradient { get; init; }
    /// <summary>L2 norm of the gradient.</summary>
    public double GradNorm { get; init; }
    /// <summary>Mean absolute gradient.</summary>
    public double GradMeanAbs { get; init; }
    /// <summary>Fraction of exactly-zero gradient entries.</summary>
    public double GradZeroFraction { get; init; }
    /// <summary>Non-finite gradient entries.</summary>
    public long GradNonFinite { get; init; }
    /// <summary>L2 norm of the weight.</summary>
    public double WeightNorm { get; init; }
}

/// <summary>How much one parameter moved in one optimizer step.</summary>
/// <param name="Step">Training step.</param>
/// <param name="Name">Parameter name.</param>
/// <param name="Module">Owning module path.</param>
/// <param name="Rank">Number of dimensions.</param>
/// <param name="UpdateNorm">‖Δw‖.</param>
/// <param name="WeightNorm">‖w‖ before the step.</param>
/// <param name="RequiresGrad">Whether it requires a gradient.</param>
/// <param name="HasGradient">Whether it had a gradient at this step.</param>
/// <param name="GradNorm">‖g‖ at this step (0 without a gradient).</param>
public sealed record UpdateObservation(long Step, string Name, string Module, int Rank, double UpdateNorm, double WeightNorm, bool RequiresGrad, bool HasGradient, double GradNorm = 0) : IObservation
{
    /// <summary>The learning rate of the parameter's group when the optimizer is plain SGD (with or without momentum), whose
    /// step moves a weight by lr × its gradient (more with momentum); null for other optimizers.</summary>
    public double? SgdLearningRate { get; init; }
    /// <summary>‖Δw‖ / ‖w‖ (0 when both are 0).</summary>
    public double Ratio => WeightNorm > 0 ? UpdateNorm / WeightNorm : UpdateNorm > 0 ? double.PositiveInfinity : 0;
}

/// <summary>Everything observed in one step, handed to the detectors.</summary>
public sealed class StepObservations : IObservation
{
    /// <summary>The step.</summary>
    public required long Step { get; init; }
    /// <summary>True when the full probes ran (sampling interval), false for the cheap every-step checks only.</summary>
    public bool Sampled { get; init; }
    /// <summary>Loss value, or null when not given.</summary>
    public double? Loss { get; init; }
    /// <summary>Activation observations in exit order.</summary>
    public IReadOnlyList<ActivationObservation> Activations { get; init; } = [];
    /// <summary>Activation gradients in backward order.</summary>
    public IReadOnlyList<ActivationGradientObservation> ActivationGradients { get; init; } = [];
    /// <summary>Parameters (sampled steps, or any step where a non-finite value was seen).</summary>
    public IReadOnlyList<ParameterObservation> Parameters { get; init; } = [];
    /// <summary>Parameter updates (sampled steps with an optimizer step in between).</summary>
    public IReadOnlyList<UpdateObservation> Updates { get; init; } = [];
    /// <summary>Modules with parameters that ran (hooks fired) in this step, when sampled.</summary>
    public IReadOnlyCollection<string> ModulesThatRan { get; init; } = [];
    /// <summary>Global gradient L2 norm (all parameters), when sampled.</summary>
    public double? GlobalGradNorm { get; init; }
    /// <summary>Observations that added monitors emitted during the step (their own record types), in order.</summary>
    public IReadOnlyList<IObservation> Extra { get; init; } = [];
}
