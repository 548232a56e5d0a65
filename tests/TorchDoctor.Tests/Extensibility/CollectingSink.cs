using TorchDoctor.Sinks;

namespace TorchDoctor.Tests.Extensibility;

/// <summary>A new sink is one file: it keeps every event it is given.</summary>
internal sealed class CollectingSink : IDoctorSink
{
    public List<DoctorEvent> Events { get; } = [];

    public void Emit(DoctorEvent e) => Events.Add(e);
}
