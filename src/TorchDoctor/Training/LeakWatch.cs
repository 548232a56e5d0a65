using System.Diagnostics;
using TorchDoctor.Detectors;
using TorchDoctor.Findings;
using TorchDoctor.Observations;
using TorchDoctor.Probes;
using static TorchSharp.torch;

namespace TorchDoctor.Training;

/// <summary>Options of <see cref="LeakWatch"/>.</summary>
public sealed record LeakWatchOptions
{
    /// <summary>Leak rule thresholds.</summary>
    public LeakThresholds Thresholds { get; init; } = new();
    /// <summary>
    /// Deep mode: when a leak is found, take a heap snapshot of the process (ClrMD; a few seconds and a temporary dump
    /// file the size of the process) and name the fields or locals holding the surviving tensors, with source lines
    /// where the program's PDB allows. Off by default.
    /// </summary>
    public bool Attribution { get; init; }
    /// <summary>Steps kept in <see cref="LeakWatch.Timeline"/>. Default 1,000.</summary>
    public int TimelineLength { get; init; } = 1000;
}

/// <summary>
/// Watches for memory leaks across training steps at almost no cost: every step it reads TorchSharp's live tensor
/// count (a static field); at check steps (every 5 steps up to step 100, every 10 up to 300, then every 50; after step 100
/// stretched while a collection costs more than 1% of the time since the last one) it runs a full garbage collection and measures
/// the live tensors and native bytes that survive it (<see cref="LeakProbe"/>). <see cref="LeakDetector"/> turns
/// sustained growth into one finding. Used by <see cref="Doctor"/> (on by default) or on its own:
/// <code>
/// var watch = new LeakWatch();
/// for (long step = 0; ; step++) { ...train...; if (watch.EndStep(step) is { } leak) Console.WriteLine(leak); }
/// </code>
/// </summary>
public sealed class LeakWatch
{
    private readonly LeakWatchOptions _options;
    private readonly List<MemoryCheck> _checks = [];
    private readonly Window<MemoryStepObservation> _timeline;
    private readonly Stopwatch _clock = Stopwatch.StartNew();
    private double _lastCheckAt;
    private long _nextCheck;
    private int _stretch = 1;

    /// <summary>Creates a watch.</summary>
    public LeakWatch(LeakWatchOptions? options = null)
    {
        _options = options ?? new LeakWatchOptions();
        ArgumentOutOfRangeException.ThrowIfLessThan(_options.TimelineLength, 1);
        _timeline = new Window<MemoryStepObservation>(_options.TimelineLength);
        _nextCheck = 5;
    }

    /// <summary>The leak found, or null.</summary>
    public Finding? Finding { get; private set; }
    /// <summary>The heap snapshot's answer when <see cref="LeakWatchOptions.Attribution"/> is on and a leak was found.</summary>
    public LeakAttribution? Attribution { get; private set; }
    /// <summary>Checks run so far (the last 256).</summary>
    public IReadOnlyList<MemoryCheck> Checks => _checks;
    /// <summary>Per-step memory, the last <see cref="LeakWatchOptions.TimelineLength"/> steps.</summary>
    public IEnumerable<MemoryStepObservation> Timeline => _timeline.Items();
    /// <summary>The memory of the last step <see cref="EndStep"/> saw, or null before the first.</summary>
    public MemoryStepObservation? LastStep => _timeline.Count == 0 ? null : _timeline.Last;
    /// <summary>Total time spent in collections at checks, in milliseconds.</summary>
    public double CollectMilliseconds { get; private set; }

    /// <summary>True when <paramref name="step"/> is a check step.</summary>
    public bool IsCheckStep(long step) => Finding is null && step >= _nextCheck;

    /// <summary>
    /// Call at the end of each step. Returns the leak finding the first time one is found (later calls return null).
    /// </summary>
    public Finding? EndStep(long step)
    {
        long live = Tensor.TotalCount;
        if (!IsCheckStep(step))
        {
            _timeline.Add(new MemoryStepObservation(step, live, Tensor.PeakCount, null, null, null));
            return null;
        }
        var check = LeakProbe.Check(step);
        CollectMilliseconds += check.CollectMilliseconds;
        _checks.Add(check);
        if (_checks.Count > 256) _checks.RemoveAt(0);
        _timeline.Add(new MemoryStepObservation(step, live, Tensor.PeakCount, check, ProcessMemory.ResidentBytes(), ProcessMemory.PeakResidentBytes()));
        double now = _clock.Elapsed.TotalMilliseconds;
        // After step 100, a collection that costs more than 1% of the time since the last check stretches the schedule
        // (large managed heaps); the ~20 checks before it are a fixed start-up cost that keeps detection within 2 short epochs.
        if (step < 100) _stretch = 1;
        else if (check.CollectMilliseconds > 0.01 * Math.Max(1e-3, now - _lastCheckAt)) _stretch = Math.Min(_stretch * 2, 16);
        else if (_stretch > 1 && check.CollectMilliseconds < 0.0025 * (now - _lastCheckAt)) _stretch /= 2;
        _lastCheckAt = _clock.Elapsed.TotalMilliseconds;
        _nextCheck = step + _stretch * (step < 100 ? 5 : step < 300 ? 10 : 50);
        var found = LeakDetector.Detect(_checks, _options.Thresholds);
        if (found is null) return null;
        if (_options.Attribution)
        {
            Attribution = LeakAttribution.Capture();
            found = Attribution.Enrich(found);
        }
        Finding = found;
        return found;
    }
}
