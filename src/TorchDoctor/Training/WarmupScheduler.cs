using TorchSharp;
using static TorchSharp.torch;

namespace TorchDoctor.Training;

/// <summary>
/// Linear warmup followed by ReduceLROnPlateau or cosine decay, on the optimizer's param groups. TorchSharp's
/// <c>SequentialLR</c> cannot chain <c>ReduceLROnPlateau</c> (it is stepped with a metric, the others without), so
/// this composes them: call <see cref="Step"/> after every <c>optimizer.step()</c> and, for the plateau schedule,
/// <see cref="EndEpoch"/> with the validation loss.
/// <code>
/// var sched = WarmupScheduler.WithPlateau(optimizer, warmupSteps: 200, factor: 0.1, patience: 3);
/// ... optimizer.step(); sched.Step();
/// ... sched.EndEpoch(valLoss);
/// </code>
/// During warmup the LR of each group rises linearly from base/warmupSteps to its base LR (the LR the group had when
/// the scheduler was created). The plateau rule follows PyTorch's defaults: mode min, relative threshold 1e-4, a
/// reduction by <c>factor</c> after <c>patience</c> epochs without improvement, never below <c>minLr</c>.
/// </summary>
public sealed class WarmupScheduler
{
    private readonly optim.Optimizer _optimizer;
    private readonly double[] _base;
    private readonly double[] _scale;
    private readonly bool _cosine;
    private readonly int _total;
    private readonly double _factor, _threshold, _minLr;
    private readonly int _patience;
    private double _best = double.PositiveInfinity;
    private int _bad;

    private WarmupScheduler(optim.Optimizer optimizer, int warmupSteps, bool cosine, int totalSteps, double factor, int patience, double threshold, double minLr)
    {
        ArgumentNullException.ThrowIfNull(optimizer);
        ArgumentOutOfRangeException.ThrowIfNegative(warmupSteps);
        _optimizer = optimizer;
        WarmupSteps = warmupSteps;
        _cosine = cosine;
        _total = totalSteps;
        _factor = factor;
        _patience = patience;
        _threshold = threshold;
        _minLr = minLr;
        _base = optimizer.ParamGroups.Select(g => g.LearningRate).ToArray();
        _scale = _base.Select(_ => 1.0).ToArray();
        Apply();
    }

    /// <summary>Warmup, then ReduceLROnPlateau (stepped by <see cref="EndEpoch"/>).</summary>
    public static WarmupScheduler WithPlateau(optim.Optimizer optimizer, int warmupSteps, double factor = 0.1, int patience = 3, double threshold = 1e-4, double minLr = 0)
    {
        if (factor is <= 0 or >= 1) throw new ArgumentOutOfRangeException(nameof(factor), "factor must be in (0, 1)");
        return new WarmupScheduler(optimizer, warmupSteps, false, 0, factor, patience, threshold, minLr);
    }

    /// <summary>Warmup, then cosine decay from the base LR to <paramref name="minLr"/> at <paramref name="totalSteps"/>.</summary>
    public static WarmupScheduler WithCosine(optim.Optimizer optimizer, int warmupSteps, int totalSteps, double minLr = 0)
    {
        ArgumentOutOfRangeException.ThrowIfLessThanOrEqual(totalSteps, warmupSteps);
        return new WarmupScheduler(optimizer, warmupSteps, true, totalSteps, 1, 0, 0, minLr);
    }

    /// <summary>Warmup length in optimizer steps.</summary>
    public int WarmupSteps { get; }
    /// <summary>Optimizer steps taken so far.</summary>
    public int StepCount { get; private set; }
    /// <summary>Times the plateau rule reduced the LR.</summary>
    public int Reductions { get; private set; }
    /// <summary>The first group's current learning rate.</summary>
    public double LearningRate => _optimizer.ParamGroups.First().LearningRate;

    /// <summary>Call after each <c>optimizer.step()</c>: sets the LR for the next step.</summary>
    public void Step()
    {
        StepCount++;
        Apply();
    }

    /// <summary>Plateau schedule: call once per epoch with the monitored loss; returns true when it reduced the LR.</summary>
    public bool EndEpoch(double metric)
    {
        if (_cosine || StepCount < WarmupSteps) return false;
        if (metric < _best * (1 - _threshold))
        {
            _best = metric;
            _bad = 0;
            return false;
        }
        if (++_bad <= _patience) return false;
        _bad = 0;
        bool reduced = false;
        for (int i = 0; i < _scale.Length; i++)
        {
            double next = Math.Max(_base[i] * _scale[i] * _factor, _minLr);
            if (_base[i] * _scale[i] - next > 1e-12 * _base[i]) { _scale[i] = next / _base[i]; reduced = true; }
        }
        if (reduced) Reductions++;
        Apply();
        return reduced;
    }

    private void Apply()
    {
        int i = 0;
        foreach (var g in _optimizer.ParamGroups)
        {
            double lr;
            if (WarmupSteps > 0 && StepCount < WarmupSteps) lr = _base[i] * (StepCount + 1) / WarmupSteps;
            else if (_cosine)
            {
                double p = Math.Min(1.0, (double)(StepCount - WarmupSteps) / (_total - WarmupSteps));
                lr = _minLr + (_base[i] - _minLr) * 0.5 * (1 + Math.Cos(Math.PI * p));
            }
            else lr = _base[i] * _scale[i];
            g.LearningRate = lr;
            i++;
        }
    }
}
