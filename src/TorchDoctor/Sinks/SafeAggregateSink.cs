namespace TorchDoctor.Sinks;

/// <summary>
/// Forwards every event to each of its sinks, catching what a sink throws so that one failing sink never
/// breaks training or the sinks after it (Serilog's <c>SafeAggregateSink</c>). Failures are kept (the first
/// <see cref="MaxErrors"/>) in <see cref="Errors"/>.
/// </summary>
public sealed class SafeAggregateSink : IDoctorSink, IDisposable
{
    /// <summary>How many failures <see cref="Errors"/> keeps.</summary>
    public const int MaxErrors = 100;

    private readonly List<IDoctorSink> _sinks;
    private readonly List<SinkError> _errors = [];

    /// <summary>Creates the aggregate over <paramref name="sinks"/>, called in this order.</summary>
    public SafeAggregateSink(IEnumerable<IDoctorSink> sinks) => _sinks = [.. sinks];

    /// <summary>The sinks, in call order.</summary>
    public IReadOnlyList<IDoctorSink> Sinks => _sinks;

    /// <summary>Failures so far (bounded).</summary>
    public IReadOnlyList<SinkError> Errors => _errors;

    /// <summary>Total failures, including those beyond <see cref="MaxErrors"/>.</summary>
    public int ErrorCount { get; private set; }

    /// <summary>Adds a sink at the end.</summary>
    public void Add(IDoctorSink sink)
    {
        ArgumentNullException.ThrowIfNull(sink);
        _sinks.Add(sink);
    }

    /// <inheritdoc />
    public void Emit(DoctorEvent e)
    {
        foreach (var sink in _sinks)
        {
            try
            {
                sink.Emit(e);
            }
            catch (Exception ex) when (ex is not OutOfMemoryException)
            {
                ErrorCount++;
                if (_errors.Count < MaxErrors) _errors.Add(new SinkError(sink, e, ex));
            }
        }
    }

    /// <summary>Disposes every sink that is <see cref="IDisposable"/>, isolating failures the same way.</summary>
    public void Dispose()
    {
        foreach (var sink in _sinks.OfType<IDisposable>())
        {
            try { sink.Dispose(); }
            catch (Exception ex) when (ex is not OutOfMemoryException)
            {
                ErrorCount++;
                if (_errors.Count < MaxErrors) _errors.Add(new SinkError((IDoctorSink)sink, null, ex));
            }
        }
    }
}

/// <summary>A sink's failure.</summary>
/// <param name="Sink">The sink that threw.</param>
/// <param name="Event">The event it was given (null when disposing).</param>
/// <param name="Exception">What it threw.</param>
public sealed record SinkError(IDoctorSink Sink, DoctorEvent? Event, Exception Exception);
