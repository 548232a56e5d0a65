namespace TorchDoctor.Sinks;

/// <summary>
/// A live output of a monitored run: receives findings and observations as they happen (Serilog's
/// <c>ILogEventSink</c> shape). Sinks only format and forward; they never reach back into the doctor. A sink that
/// throws is isolated by <see cref="SafeAggregateSink"/>: training and the other sinks go on.
/// Register one with <c>DoctorOptions.Sinks</c> or <c>Doctor.AddSink</c>. Sinks that hold files implement
/// <see cref="IDisposable"/>; the doctor disposes the sinks it was given when it is disposed.
/// </summary>
public interface IDoctorSink
{
    /// <summary>Receives one event. Called on the training loop's thread; keep it cheap.</summary>
    void Emit(DoctorEvent e);
}
