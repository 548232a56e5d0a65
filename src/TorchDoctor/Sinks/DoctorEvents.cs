using TorchDoctor.Findings;
using TorchDoctor.Observations;

namespace TorchDoctor.Sinks;

/// <summary>Something that happened during a monitored run, delivered to every <see cref="IDoctorSink"/> as it happens.</summary>
/// <param name="Step">The training step it belongs to, or null for static checks (e.g. a not-in-optimizer finding at attach).</param>
public abstract record DoctorEvent(long? Step);

/// <summary>A new finding (the first of its code and module).</summary>
/// <param name="Finding">The finding.</param>
public sealed record FindingEvent(Finding Finding) : DoctorEvent(Finding.Step);

/// <summary>
/// An observation: every completed step's <see cref="StepObservations"/> (in the sink's own thread of the loop,
/// after the step's detectors ran), an <see cref="EpochObservation"/> per <c>EndEpoch</c>, and whatever
/// observations monitors emit.
/// </summary>
/// <param name="Observation">The observation.</param>
public sealed record ObservationEvent(IObservation Observation) : DoctorEvent(Observation.Step);
