using TorchDoctor.Observations;
using TorchDoctor.Probes;
using static TorchSharp.torch;

namespace TorchDoctor.Monitors;

/// <summary>
/// Built-in monitor: how far each parameter moved in the optimizer step (‖Δw‖, ‖w‖) at sampled steps. It copies the
/// weights after backward and compares after the step; the copies are freed at once.
/// </summary>
internal sealed class UpdateMonitor : ITrainingMonitor, IDisposable
{
    private IReadOnlyList<MonitoredParameter> _params = [];
    private List<Tensor>? _snapshot;

    public void Attach(MonitorHost host) => _params = host.Parameters;

    public void OnBeginStep(StepContext step) { }

    public void OnAfterBackward(StepContext step)
    {
        if (!step.Sampled) return;
        DisposeSnapshot();
        using var _ = no_grad();
        _snapshot = _params.Select(p => p.Parameter.detach().clone().DetachFromDisposeScope()).ToList();
    }

    public void OnEndStep(StepContext step)
    {
        if (_snapshot is null) return;
        var updates = new List<UpdateObservation>(_params.Count);
        for (int i = 0; i < _params.Count; i++)
        {
            var (name, module, p) = _params[i];
            var obs = step.Parameters.FirstOrDefault(o => o.Name == name);
            updates.Add(new UpdateObservation(step.Step, name, module, (int)p.dim(), TensorStats.DistanceNorm(p, _snapshot[i]),
                obs?.WeightNorm ?? TensorStats.Norm(_snapshot[i]), p.requires_grad, obs?.HasGradient ?? false, obs?.GradNorm ?? 0));
        }
        step.Updates = updates;
        DisposeSnapshot();
    }

    private void DisposeSnapshot()
    {
        if (_snapshot is null) return;
        foreach (var t in _snapshot) t.Dispose();
        _snapshot = null;
    }

    public void Dispose() => DisposeSnapshot();
}
