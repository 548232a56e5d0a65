using TorchDoctor.Monitors;
using TorchDoctor.Observations;

namespace TorchDoctor.Tests.Extensibility;

/// <summary>What <see cref="CountingMonitor"/> observes: how often each moment of the loop came so far.</summary>
internal sealed record MomentCount(long Step, int BeginSteps, int AfterBackwards, int EndSteps, int Epochs, int Parameters) : IObservation;

/// <summary>A new monitor is one file: it counts the loop's moments and emits one observation per step.</summary>
internal sealed class CountingMonitor : ITrainingMonitor
{
    private int _parameters, _begin, _after, _end, _epochs;

    public void Attach(MonitorHost host) => _parameters = host.Parameters.Count;
    public void OnBeginStep(StepContext step) => _begin++;
    public void OnAfterBackward(StepContext step) => _after++;

    public void OnEndStep(StepContext step)
    {
        _end++;
        step.Emit(new MomentCount(step.Step, _begin, _after, _end, _epochs, _parameters));
    }

    public void OnEndEpoch(EpochContext epoch) => _epochs++;
}
