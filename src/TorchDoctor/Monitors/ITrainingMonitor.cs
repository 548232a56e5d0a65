using TorchDoctor.Probes;
using TorchDoctor.Inspection;
using TorchDoctor.Observations;
using static TorchSharp.torch;
using Module = TorchSharp.torch.nn.Module;
using Parameter = TorchSharp.Modules.Parameter;

namespace TorchDoctor.Monitors;

/// <summary>
/// One capability of the training doctor, plugged into the loop's named moments (PyTorch Lightning's callback hooks,
/// BenchmarkDotNet's <c>IDiagnoser</c> lifecycle). A monitor owns its probe (hooks, counters, timers), copies numbers out
/// of live tensors, and puts plain observations into the <see cref="StepContext"/> or emits its own
/// (<see cref="StepContext.Emit"/>). It never changes training numerics and keeps no tensor alive between moments.
/// Every method has an empty default: implement the moments you need. Register with <c>DoctorOptions.Monitors</c>;
/// monitors that implement <see cref="IDisposable"/> are disposed with the doctor (remove hooks there).
/// </summary>
public interface ITrainingMonitor
{
    /// <summary>Called once when the doctor attaches, before the first step.</summary>
    void Attach(MonitorHost host) { }
    /// <summary>The step begins (before the forward pass).</summary>
    void OnBeginStep(StepContext step) { }
    /// <summary>After <c>loss.backward()</c>, before <c>optimizer.step()</c>: gradients are there.</summary>
    void OnAfterBackward(StepContext step) { }
    /// <summary>After <c>optimizer.step()</c>: the weights have moved. The step's observations go to the detectors next.</summary>
    void OnEndStep(StepContext step) { }
    /// <summary>An epoch ended (<c>Doctor.EndEpoch</c>).</summary>
    void OnEndEpoch(EpochContext epoch) { }
}

/// <summary>What a monitor may use when it attaches: the model, its module tree and its unique parameters.</summary>
public sealed class MonitorHost
{
    internal MonitorHost(Module model, ModuleTree tree, IReadOnlyList<MonitoredParameter> parameters)
    {
        Model = model;
        Tree = tree;
        Parameters = parameters;
    }

    /// <summary>The model.</summary>
    public Module Model { get; }
    /// <summary>Its module tree (root included, paths like <c>layer1.0.conv1</c>).</summary>
    public ModuleTree Tree { get; }
    /// <summary>Its parameters, each once (tied weights once, by storage).</summary>
    public IReadOnlyList<MonitoredParameter> Parameters { get; }
}

/// <summary>A parameter with its full name and owning module path.</summary>
/// <param name="Name">Full name, e.g. <c>layers.0.weight</c>.</param>
/// <param name="Module">Owning module path.</param>
/// <param name="Parameter">The parameter.</param>
public sealed record MonitoredParameter(string Name, string Module, Parameter Parameter);

/// <summary>
/// One step as the monitors see it: the doctor's sampling decision, the loss, and the observations the built-in
/// monitors have gathered so far (in moment order). Added monitors read these and emit their own observations.
/// </summary>
public sealed class StepContext
{
    private readonly Action<IObservation> _emit;
    internal readonly List<IObservation> ExtraList = [];

    internal StepContext(long step, bool sampled, bool nonFiniteWatch, Action<IObservation> emit)
    {
        Step = step;
        Sampled = sampled;
        NonFiniteWatch = nonFiniteWatch;
        _emit = emit;
    }

    /// <summary>The step (0 for the first).</summary>
    public long Step { get; }
    /// <summary>True when this step is sampled: full statistics run (the doctor's schedule decides).</summary>
    public bool Sampled { get; }
    /// <summary>True when the every-step NaN/Inf watch is on (asked for, or switched on after a non-finite loss).</summary>
    public bool NonFiniteWatch { get; }
    /// <summary>The loss, once <c>AfterBackward</c> received it.</summary>
    public double? Loss { get; internal set; }
    /// <summary>The loss tensor, during <see cref="ITrainingMonitor.OnAfterBackward"/> only (null otherwise).</summary>
    public Tensor? LossTensor { get; internal set; }
    /// <summary>Activation observations in exit order (after the forward monitor's end of step).</summary>
    public IReadOnlyList<ActivationObservation> Activations { get; internal set; } = [];
    /// <summary>Activation gradients in backward order.</summary>
    public IReadOnlyList<ActivationGradientObservation> ActivationGradients { get; internal set; } = [];
    /// <summary>Modules (with hooks) in the order they were entered, when sampled.</summary>
    public IReadOnlyDictionary<string, int> ModulesEntered { get; internal set; } = new Dictionary<string, int>();
    /// <summary>Parameter observations (sampled steps, or any step where a non-finite value was seen).</summary>
    public IReadOnlyList<ParameterObservation> Parameters { get; internal set; } = [];
    /// <summary>Parameter updates (sampled steps).</summary>
    public IReadOnlyList<UpdateObservation> Updates { get; internal set; } = [];
    /// <summary>Global gradient norm, when parameters were observed.</summary>
    public double? GlobalGradNorm { get; internal set; }
    /// <summary>Observations emitted by monitors during this step.</summary>
    public IReadOnlyList<IObservation> Extra => ExtraList;

    /// <summary>Emits an observation: it goes to the sinks now and into this step's <see cref="StepObservations.Extra"/>.</summary>
    public void Emit(IObservation observation)
    {
        ArgumentNullException.ThrowIfNull(observation);
        ExtraList.Add(observation);
        _emit(observation);
    }
}

/// <summary>The end of an epoch as the monitors see it.</summary>
public sealed class EpochContext
{
    private readonly Action<IObservation> _emit;

    internal EpochContext(EpochObservation epoch, Action<IObservation> emit)
    {
        Epoch = epoch;
        _emit = emit;
    }

    /// <summary>The epoch and its metrics.</summary>
    public EpochObservation Epoch { get; }

    /// <summary>Emits an observation to the sinks.</summary>
    public void Emit(IObservation observation)
    {
        ArgumentNullException.ThrowIfNull(observation);
        _emit(observation);
    }
}
