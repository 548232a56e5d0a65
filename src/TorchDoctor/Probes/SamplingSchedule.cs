namespace TorchDoctor.Probes;

/// <summary>
/// Settings of the <see cref="SamplingSchedule"/>: when the full probes run. The steady-state interval is
/// <c>DoctorOptions.SampleInterval</c>; these settings say how densely to sample before reaching it and after
/// anything suspicious.
/// </summary>
public sealed record SamplingScheduleOptions
{
    /// <summary>Every step is sampled for this many steps from the start. Default 8.</summary>
    public int DenseStart { get; init; } = 8;
    /// <summary>After the dense start (and after each dense window), the gap between sampled steps starts at this and
    /// doubles at every sampled step until it reaches the interval. Default 2.</summary>
    public int FirstGap { get; init; } = 2;
    /// <summary>Every step is sampled for this many steps after a suspicious step. Default 8.</summary>
    public int DenseAfterSuspicion { get; init; } = 8;
    /// <summary>
    /// A loss above this multiple of its smoothed value (exponential average over ~<see cref="LossSmoothingSteps"/> steps)
    /// is suspicious. Default 2.
    /// </summary>
    public double LossSpikeFactor { get; init; } = 2;
    /// <summary>Steps of the loss's exponential average (α = 2/(n+1)); spikes are looked for only once it has seen this many. Default 10.</summary>
    public int LossSmoothingSteps { get; init; } = 10;
    /// <summary>A global gradient norm above this multiple of the previous sampled step's is suspicious. Default 5.</summary>
    public double GradNormJumpFactor { get; init; } = 5;
    /// <summary>
    /// Dense windows opened by suspicion are granted only while the steps they sampled stay within this fraction of the
    /// steps run so far (plus two windows' worth), so a noisy run cannot turn the schedule into every-step probing.
    /// Default 0.05.
    /// </summary>
    public double SuspicionBudget { get; init; } = 0.05;
}

/// <summary>
/// Decides which training steps run the full probes. Dense at the start (every step for
/// <see cref="SamplingScheduleOptions.DenseStart"/> steps, then gaps of 2, 4, 8, … up to the interval), dense again for
/// <see cref="SamplingScheduleOptions.DenseAfterSuspicion"/> steps after anything suspicious (a loss spike against the
/// smoothed loss, a jump of the global gradient norm, a candidate finding that needs more sampled steps to persist),
/// sparse (one step per interval) in a healthy steady state. Pure: it sees numbers, never tensors.
/// Call <see cref="IsSampled"/> once per step, in order, then the <c>Observe…</c>/<see cref="Suspect"/> methods for that step.
/// </summary>
public sealed class SamplingSchedule
{
    private readonly SamplingScheduleOptions _o;
    private readonly int _interval;
    private long _next;
    private long _gap;
    private long _denseUntil = -1;   // steps < _denseUntil are sampled
    private double _lossAverage;
    private int _losses;
    private double? _lastNorm;
    private long _suspicionSampled;
    private long _lastStep = -1;

    /// <summary>Creates a schedule with steady-state interval <paramref name="interval"/> (1 = every step).</summary>
    public SamplingSchedule(int interval, SamplingScheduleOptions? options = null)
    {
        ArgumentOutOfRangeException.ThrowIfLessThan(interval, 1);
        _o = options ?? new SamplingScheduleOptions();
        ArgumentOutOfRangeException.ThrowIfNegative(_o.DenseStart);
        ArgumentOutOfRangeException.ThrowIfLessThan(_o.FirstGap, 1);
        ArgumentOutOfRangeException.ThrowIfNegative(_o.DenseAfterSuspicion);
        _interval = interval;
        _next = 0;
        _gap = Math.Min(_o.FirstGap, interval);
        _denseUntil = _o.DenseStart;
    }

    /// <summary>The steady-state interval.</summary>
    public int Interval => _interval;
    /// <summary>Why the schedule last went dense (null before any suspicion).</summary>
    public string? LastSuspicion { get; private set; }
    /// <summary>Steps sampled so far.</summary>
    public long SampledSteps { get; private set; }

    /// <summary>Whether step <paramref name="step"/> runs the full probes. Call once per step, steps increasing.</summary>
    public bool IsSampled(long step)
    {
        _lastStep = step;
        bool sampled;
        if (step < _denseUntil)
        {
            sampled = true;
            if (step >= _o.DenseStart) _suspicionSampled++;
            // The back-off restarts from the last dense step: gaps FirstGap, 2×FirstGap, … up to the interval.
            _next = step + Math.Min(_o.FirstGap, _interval);
            _gap = Math.Min(2L * _o.FirstGap, _interval);
        }
        else if (step >= _next)
        {
            sampled = true;
            _next = step + _gap;
            _gap = Math.Min(_gap * 2, _interval);
        }
        else sampled = false;
        if (_interval == 1) sampled = true;
        if (sampled) SampledSteps++;
        return sampled;
    }

    /// <summary>True when <paramref name="step"/> falls in a dense phase (the start, a suspicion window, or interval 1), as decided so far.</summary>
    public bool IsDense(long step) => _interval == 1 || step < _denseUntil;

    /// <summary>Feeds this step's loss (every step): a loss above <see cref="SamplingScheduleOptions.LossSpikeFactor"/>×
    /// its smoothed value makes the next steps dense. Non-finite losses are left to the NaN/Inf watch.</summary>
    public void ObserveLoss(long step, double loss)
    {
        if (!double.IsFinite(loss)) return;
        if (_losses >= _o.LossSmoothingSteps && _lossAverage > 0 && loss > _o.LossSpikeFactor * _lossAverage)
            Suspect(step, $"loss {loss:G3} at step {step} is {loss / _lossAverage:G3}× its smoothed value {_lossAverage:G3}");
        double alpha = 2.0 / (_o.LossSmoothingSteps + 1);
        _lossAverage = _losses == 0 ? loss : _lossAverage + alpha * (loss - _lossAverage);
        _losses++;
    }

    /// <summary>Feeds a sampled step's global gradient norm: a jump above <see cref="SamplingScheduleOptions.GradNormJumpFactor"/>×
    /// the previous sampled norm makes the next steps dense.</summary>
    public void ObserveGradNorm(long step, double norm)
    {
        if (!double.IsFinite(norm)) return;
        if (_lastNorm is { } prev && prev > 0 && norm > _o.GradNormJumpFactor * prev)
            Suspect(step, $"global gradient norm {norm:G3} at step {step} is {norm / prev:G3}× the previous sampled step's {prev:G3}");
        _lastNorm = norm;
    }

    /// <summary>
    /// Marks step <paramref name="step"/> as suspicious (e.g. a candidate finding that needs persistence): the next
    /// <see cref="SamplingScheduleOptions.DenseAfterSuspicion"/> steps are sampled, within the suspicion budget.
    /// Returns whether a dense window was opened or extended.
    /// </summary>
    public bool Suspect(long step, string reason)
    {
        long until = step + 1 + _o.DenseAfterSuspicion;
        if (until <= _denseUntil) return false;   // already dense that far
        long allowed = (long)(_o.SuspicionBudget * Math.Max(step, _lastStep)) + 2L * _o.DenseAfterSuspicion;
        if (_suspicionSampled + (until - Math.Max(step + 1, _denseUntil)) > allowed) return false;
        _denseUntil = until;
        LastSuspicion = reason;
        return true;
    }
}
