using TorchDoctor.Probes;

namespace TorchDoctor.Monitors;

/// <summary>
/// Built-in monitor: the forward-hook probe (<see cref="TrainingProbe"/>) on every module. At sampled steps it observes
/// activations and the gradient flowing into each module's output; with the NaN/Inf watch on it checks every step.
/// The doctor steers its NaN hunt (<see cref="Configure"/>): after a non-finite backward pass it watches activation
/// gradients for one step to name the module.
/// </summary>
internal sealed class ForwardProbeMonitor : ITrainingMonitor, IDisposable
{
    private readonly ProbeKinds _kinds;
    private readonly double _saturationLimit;
    private readonly double _deadReluFraction;
    private TrainingProbe? _probe;
    private ModuleHooks? _hooks;

    public ForwardProbeMonitor(ProbeKinds kinds, double saturationLimit, double deadReluFraction)
    {
        _kinds = kinds;
        _saturationLimit = saturationLimit;
        _deadReluFraction = deadReluFraction;
    }

    private TrainingProbe Probe => _probe ?? throw new InvalidOperationException("The monitor is not attached.");

    public void Attach(MonitorHost host)
    {
        _probe = new TrainingProbe(host.Tree, _kinds, _saturationLimit, _deadReluFraction);
        _hooks = ModuleHooks.Attach(host.Tree.Nodes.Select(n => n.Module), _probe);
    }

    /// <summary>The probe's current kinds (the NaN/Inf watch may have been switched on).</summary>
    public ProbeKinds Kinds => Probe.Kinds;

    /// <summary>Set by the doctor at the end of a step: watch activation gradients next step; switch the NaN/Inf watch on.</summary>
    public void Configure(bool watchGradients, bool enableNonFiniteWatch)
    {
        Probe.WatchGradients = watchGradients;
        if (enableNonFiniteWatch) Probe.EnableNonFiniteWatch();
    }

    public void OnBeginStep(StepContext step) => Probe.Begin(step.Step, step.Sampled);

    public void OnAfterBackward(StepContext step)
    {
        var (_, grads, entered) = Probe.Take();
        step.ActivationGradients = grads;
        step.ModulesEntered = entered;
    }

    public void OnEndStep(StepContext step)
    {
        var (acts, grads, entered) = Probe.Take();
        Probe.End();
        step.Activations = acts;
        step.ActivationGradients = grads;
        step.ModulesEntered = entered;
    }

    public void Dispose()
    {
        _hooks?.Dispose();
        _probe?.Dispose();
    }
}
