using TorchDoctor.Findings;
using TorchDoctor.Observations;
using TorchDoctor.Sinks;

namespace TorchDoctor.Training;

/// <summary>The start of a recorded run.</summary>
/// <param name="Name">Run name (the run directory's name).</param>
/// <param name="Model">Model type name.</param>
/// <param name="SampleInterval">The doctor's sampling interval.</param>
/// <param name="Started">When the run started.</param>
public sealed record RunStart(string Name, string Model, int SampleInterval, DateTimeOffset Started) : IObservation
{
    /// <summary>Step 0: the run starts before its first step.</summary>
    public long Step => 0;
}

/// <summary>A scalar the training loop logged (<c>Doctor.LogScalar</c>).</summary>
/// <param name="Tag">Tag, e.g. <c>val/loss</c>.</param>
/// <param name="Step">Step it belongs to.</param>
/// <param name="Value">The value.</param>
public sealed record ScalarObservation(string Tag, long Step, double Value) : IObservation;

/// <summary>A phase began (<c>train</c>, <c>validate</c>, ...) or the run ended (<c>end</c>).</summary>
/// <param name="Name">Phase name.</param>
/// <param name="Step">Step at which it began.</param>
public sealed record PhaseObservation(string Name, long Step) : IObservation;

/// <summary>One parameter's values copied out for a histogram (a bounded sample, never a live tensor).</summary>
/// <param name="Kind"><c>weights</c>, <c>grads</c> or <c>activations</c>.</param>
/// <param name="Name">Parameter name or module path.</param>
/// <param name="Values">Up to <see cref="RunRecorderOptions.HistogramSample"/> values, evenly strided over the tensor.</param>
public sealed record HistogramSample(string Kind, string Name, float[] Values);

/// <summary>A step as the sinks see it: the doctor's observations plus run-level numbers.</summary>
/// <param name="Observations">What the probes saw.</param>
/// <param name="LearningRate">The first param group's learning rate, when an optimizer was given.</param>
/// <param name="MemoryBytes">Process resident memory, when the platform reports it (sampled steps).</param>
/// <param name="Histograms">Value samples for histograms (sampled steps, when histograms are on).</param>
public sealed record StepSample(StepObservations Observations, double? LearningRate, long? MemoryBytes, IReadOnlyList<HistogramSample> Histograms) : IObservation
{
    /// <summary>The step.</summary>
    public long Step => Observations.Step;
}

/// <summary>
/// Where a recorded run goes: a JSONL run log, TensorBoard event files, a report. A live sink (<see cref="IDoctorSink"/>)
/// whose events arrive already sorted into the run recording's calls: the doctor's run recorder emits
/// <see cref="RunStart"/>, <see cref="StepRecord"/>, <see cref="ScalarObservation"/> and <see cref="PhaseObservation"/>;
/// findings come as <see cref="FindingEvent"/>s. Sinks only format and write; they never reach back into the doctor.
/// Each call is made once, in order, on the training thread.
/// </summary>
public interface IRunSink : IDoctorSink, IDisposable
{
    /// <summary>Dispatches the doctor's events to the calls below (other observations are ignored).</summary>
    void IDoctorSink.Emit(DoctorEvent e)
    {
        switch (e)
        {
            case FindingEvent f: OnFinding(f.Finding); break;
            case ObservationEvent { Observation: RunStart s }: OnStart(s); break;
            case ObservationEvent { Observation: StepSample r }: OnStep(r); break;
            case ObservationEvent { Observation: ScalarObservation x }: OnScalar(x.Tag, x.Step, x.Value); break;
            case ObservationEvent { Observation: PhaseObservation p }: OnPhase(p.Name, p.Step); break;
            case ObservationEvent { Observation: MemoryStepObservation m }: OnMemory(m); break;
            case ObservationEvent { Observation: EpochObservation ep }: OnEpoch(ep); break;
        }
    }

    /// <summary>
    /// An epoch ended (<c>doctor.EndEpoch</c>). Default: its numbers as scalars at the epoch's last step, under the tags
    /// <c>analyze</c> and the report find (<c>train/epoch_loss</c>, <c>val/loss</c>, <c>train/accuracy</c>, <c>val/accuracy</c>).
    /// </summary>
    void OnEpoch(EpochObservation epoch)
    {
        ArgumentNullException.ThrowIfNull(epoch);
        var r = epoch.Record;
        long step = r.Step ?? epoch.Step;
        OnScalar(Logs.RunTags.EpochTrainLoss, step, r.TrainLoss);
        if (r.ValLoss is { } vl) OnScalar(Logs.RunTags.ValLoss, step, vl);
        if (r.TrainAccuracy is { } ta) OnScalar(Logs.RunTags.TrainAccuracy, step, ta);
        if (r.ValAccuracy is { } va) OnScalar(Logs.RunTags.ValAccuracy, step, va);
    }

    /// <summary>The leak watch's memory of a step: live tensors every step, survivors and process memory at check steps. Default: ignored.</summary>
    void OnMemory(MemoryStepObservation memory) { }

    /// <summary>The run starts.</summary>
    void OnStart(RunStart start);
    /// <summary>A step ended.</summary>
    void OnStep(StepSample step);
    /// <summary>A scalar the training loop logged (epoch metrics, validation loss, accuracy...).</summary>
    void OnScalar(string tag, long step, double value);
    /// <summary>A finding was raised.</summary>
    void OnFinding(Finding finding);
    /// <summary>A phase began (<c>train</c>, <c>validate</c>, ...) or the run ended (<c>end</c>).</summary>
    void OnPhase(string name, long step);
}
