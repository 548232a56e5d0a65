using TorchDoctor.Observations;
using TorchDoctor.Probes;
using static TorchSharp.torch;

namespace TorchDoctor.Monitors;

/// <summary>
/// Built-in monitor: how far each parameter moved in the optimizer step (‖Δw‖, ‖w‖) at sampled steps. It copies the
/// weights after backward (<see cref="UpdateTracker"/>) and compares after the step; the doctor frees the copies when
/// the next step is not sampled (<see cref="Release"/>), and reuses them while every step is.
/// </summary>
internal sealed class UpdateMonitor : ITrainingMonitor, IDisposable
{
    private readonly UpdateTracker _tracker = new();
    private readonly Func<TorchSharp.Modules.Parameter, double?>? _sgdLearningRate;

    /// <param name="sgdLearningRate">The learning rate of a parameter's group when the optimizer is SGD, else null.</param>
    public UpdateMonitor(Func<TorchSharp.Modules.Parameter, double?>? sgdLearningRate = null) => _sgdLearningRate = sgdLearningRate;
    private IReadOnlyList<MonitoredParameter> _params = [];
    private List<Tensor> _weights = [];

    public void Attach(MonitorHost host)
    {
        _params = host.Parameters;
        _weights = _params.Select(p => (Tensor)p.Parameter).ToList();
    }

    public void OnAfterBackward(StepContext step)
    {
        if (step.Sampled) _tracker.Capture(_weights);
    }

    public void OnEndStep(StepContext step)
    {
        if (!_tracker.Captured) return;
        var paramObs = step.Parameters;
        // Weight norms before the step come from the parameter observations (same sampled step); without them, one read.
        var before = paramObs.Count == _params.Count ? null : TensorStats.Parameters(_params.Select(_ => (Tensor?)null).ToList(), _weights);
        var moved = _tracker.Measure(_weights);
        var updates = new List<UpdateObservation>(_params.Count);
        for (int i = 0; i < _params.Count; i++)
        {
            var (name, module, p) = _params[i];
            var obs = paramObs.Count == _params.Count ? paramObs[i] : null;
            updates.Add(new UpdateObservation(step.Step, name, module, (int)p.dim(), moved[i],
                obs?.WeightNorm ?? before![i].WeightNorm, p.requires_grad, obs?.HasGradient ?? false, obs?.GradNorm ?? 0)
            { SgdLearningRate = _sgdLearningRate?.Invoke(p) });
        }
        step.Updates = updates;
    }

    /// <summary>Frees the weight copies (called by the doctor when the next step is not sampled densely).</summary>
    public void Release() => _tracker.Release();

    public void Dispose() => _tracker.Dispose();
}
