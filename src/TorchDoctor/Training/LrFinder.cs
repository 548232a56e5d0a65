using System.Globalization;
using TorchSharp;
using static TorchSharp.torch;
using Module = TorchSharp.torch.nn.Module;

namespace TorchDoctor.Training;

/// <summary>Options of <see cref="LrFinder.Run"/>.</summary>
public sealed record LrFinderOptions
{
    /// <summary>First learning rate of the sweep.</summary>
    public double StartLr { get; init; } = 1e-7;
    /// <summary>Last learning rate of the sweep.</summary>
    public double EndLr { get; init; } = 10;
    /// <summary>Steps of the sweep (the LR grows by a constant factor each step).</summary>
    public int Steps { get; init; } = 100;
    /// <summary>Exponential smoothing of the loss (bias-corrected). 0.95 as torch-lr-finder (smooth_f 0.05); fastai's 0.98 lags ~50 steps, too much for short sweeps.</summary>
    public double Smoothing { get; init; } = 0.95;
    /// <summary>Stop when the smoothed loss exceeds this multiple of its minimum (Smith 2017; fastai: 4).</summary>
    public double DivergeFactor { get; init; } = 4;
    /// <summary>The suggestion is the LR of the smoothed-loss minimum divided by this (fastai's lr_min / 10).</summary>
    public double SuggestionDivisor { get; init; } = 10;
    /// <summary>A descent is a smoothed-loss minimum at least this fraction below the first smoothed loss; without one the
    /// result's <see cref="LrFinderResult.Descended"/> is false and its suggestion is not to be trusted.</summary>
    public double MinDescent { get; init; } = 0.05;
}

/// <summary>The sweep's record and the suggested learning rate.</summary>
/// <param name="LearningRates">LR at each step.</param>
/// <param name="Losses">Raw loss at each step.</param>
/// <param name="Smoothed">Bias-corrected exponentially smoothed loss at each step.</param>
/// <param name="MinimumLr">LR at the smoothed-loss minimum.</param>
/// <param name="Suggestion">The suggested LR (see <see cref="LrFinder"/> for the rule).</param>
/// <param name="Diverged">True when the sweep stopped because the loss diverged.</param>
public sealed record LrFinderResult(IReadOnlyList<double> LearningRates, IReadOnlyList<double> Losses, IReadOnlyList<double> Smoothed,
    double MinimumLr, double Suggestion, bool Diverged)
{
    /// <summary>False when the smoothed loss never fell <see cref="LrFinderOptions.MinDescent"/> below its start: there was no
    /// descent to read, so the suggestion is not to be trusted (widen the range or run more steps).</summary>
    public bool Descended { get; init; } = true;

    /// <inheritdoc />
    public override string ToString() => string.Create(CultureInfo.InvariantCulture,
        $"LR range test: {LearningRates.Count} steps, {(Descended ? $"smoothed-loss minimum at lr {MinimumLr:G3}" : "the loss never fell below its start: no descent to read, widen the range or run more steps")}{(Diverged ? ", stopped on divergence" : "")}; suggestion {Suggestion:G3}");
}

/// <summary>
/// The LR range test (Smith 2017, "Cyclical Learning Rates"; fastai's lr_find): train for a few steps while the learning
/// rate grows exponentially from <see cref="LrFinderOptions.StartLr"/> to <see cref="LrFinderOptions.EndLr"/>, smooth the
/// loss, stop when it diverges, and suggest a learning rate. Afterwards the model's parameters and buffers, its
/// train/eval modes, the optimizer's state and learning rates, the parameters' gradients and torch's RNG are restored
/// bit-identically, so training after the test is exactly training without it.
/// <para>
/// Suggestion rule: the LR at the minimum of the smoothed loss, divided by 10. The steepest-slope point that
/// torch-lr-finder reports moves with noise and with the smoothing (its users report it is unreliable); the
/// minimum of a smoothed curve is stable, and one decade below it is the last LR that still descends steadily (fastai's
/// "lr_min / 10"). When the loss never fell (a plateau), <see cref="LrFinderResult.Descended"/> is false.
/// Tested on several models in tests (Convergence/LrFinderTests) and measured in docs/detectors.md.
/// </para>
/// </summary>
public static class LrFinder
{
    /// <summary>Runs the test. <paramref name="batches"/> is cycled if it is shorter than the sweep; <paramref name="loss"/> maps (output, target) to a scalar loss.</summary>
    public static LrFinderResult Run(nn.Module<Tensor, Tensor> model, optim.Optimizer optimizer, IEnumerable<(Tensor X, Tensor Y)> batches,
        Func<Tensor, Tensor, Tensor> loss, LrFinderOptions? options = null)
    {
        ArgumentNullException.ThrowIfNull(model);
        ArgumentNullException.ThrowIfNull(optimizer);
        ArgumentNullException.ThrowIfNull(batches);
        ArgumentNullException.ThrowIfNull(loss);
        var o = options ?? new LrFinderOptions();
        if (!(o.StartLr > 0) || !(o.EndLr > o.StartLr)) throw new ArgumentException("need 0 < StartLr < EndLr");
        ArgumentOutOfRangeException.ThrowIfLessThan(o.Steps, 2);
        if (optimizer is not TorchSharp.Modules.OptimizerHelper helper)
            throw new ArgumentException($"the LR range test saves and restores the optimizer's state; {optimizer.GetType().Name} does not expose it");
        using var state = new TrainingState(model, helper);
        var lrs = new List<double>();
        var raw = new List<double>();
        var smooth = new List<double>();
        double avg = 0, best = double.PositiveInfinity;
        int bestAt = -1;
        bool diverged = false;
        double mult = Math.Pow(o.EndLr / o.StartLr, 1.0 / (o.Steps - 1));
        try
        {
            model.train();
            int i = 0;
            while (i < o.Steps)
            {
                bool any = false;
                foreach (var (x, y) in batches)
                {
                    any = true;
                    double lr = o.StartLr * Math.Pow(mult, i);
                    foreach (var g in optimizer.ParamGroups) g.LearningRate = lr;
                    double l;
                    using (NewDisposeScope())
                    {
                        optimizer.zero_grad();
                        var out_ = model.call(x);
                        var v = loss(out_, y);
                        v.backward();
                        optimizer.step();
                        l = v.item<float>();
                    }
                    lrs.Add(lr);
                    raw.Add(l);
                    avg = o.Smoothing * avg + (1 - o.Smoothing) * (double.IsFinite(l) ? l : double.MaxValue / 1e10);
                    double s = avg / (1 - Math.Pow(o.Smoothing, i + 1));
                    smooth.Add(s);
                    if (s < best) { best = s; bestAt = i; }
                    i++;
                    if (!double.IsFinite(l) || (i > 1 && s > o.DivergeFactor * best)) { diverged = true; break; }
                    if (i >= o.Steps) break;
                }
                if (!any) throw new ArgumentException("no batches", nameof(batches));
                if (diverged) break;
            }
        }
        finally
        {
            state.Restore();
        }
        double minLr = bestAt >= 0 ? lrs[bestAt] : o.StartLr;
        // A sweep whose smoothed loss never fell clearly below where it started (a model on a plateau, or too few steps at the
        // useful LRs) has no minimum to read: its "minimum" is noise. The result says so (Descended = false) instead of
        // pretending; the suggestion keeps the rule, and the caller should widen the range or run more steps. (Tried and
        // dropped: "the last LR before the loss rose, ÷ 10" suggested lr 1 for plain SGD on the demo CNN, which killed its ReLUs.)
        bool descended = smooth.Count > 0 && bestAt >= 0 && smooth[bestAt] < (1 - o.MinDescent) * smooth[0];
        return new LrFinderResult(lrs, raw, smooth, minLr, Math.Max(o.StartLr, minLr / o.SuggestionDivisor), diverged) { Descended = descended };
    }

    /// <summary>A bit-identical copy of everything a few training steps change, and its restore.</summary>
    internal sealed class TrainingState : IDisposable
    {
        private readonly Module _model;
        private readonly TorchSharp.Modules.OptimizerHelper? _optimizer;
        private readonly Dictionary<string, Tensor> _weights;
        private readonly List<(TorchSharp.Modules.Parameter P, Tensor? Grad)> _grads;
        private readonly List<(Module M, bool Training)> _modes;
        private readonly double[] _lrs;
        private readonly byte[]? _optimizerState;
        private readonly Tensor _rng;

        public TrainingState(Module model, TorchSharp.Modules.OptimizerHelper? optimizer)
        {
            _model = model;
            _optimizer = optimizer;
            using var _ = no_grad();
            _weights = model.state_dict().ToDictionary(kv => kv.Key, kv => kv.Value.detach().clone().DetachFromDisposeScope());
            _grads = model.parameters().Select(p => (p, p.grad is { IsInvalid: false } g ? g.detach().clone().DetachFromDisposeScope() : null)).ToList();
            _modes = [(model, model.training), .. model.modules().Select(m => (m, m.training))];
            _lrs = optimizer?.ParamGroups.Select(g => g.LearningRate).ToArray() ?? [];
            if (optimizer is not null)
            {
                using var ms = new MemoryStream();
                using (var w = new BinaryWriter(ms, System.Text.Encoding.UTF8, leaveOpen: true)) optimizer.save_state_dict(w);
                _optimizerState = ms.ToArray();
            }
            _rng = torch.get_rng_state().DetachFromDisposeScope();
        }

        public void Restore()
        {
            using (no_grad())
            {
                foreach (var (name, t) in _model.state_dict())
                    if (_weights.TryGetValue(name, out var saved)) t.copy_(saved);
                foreach (var (p, g) in _grads)
                {
                    var now = p.grad;
                    if (g is not null && now is { IsInvalid: false }) now.copy_(g);
                    else if (g is null && now is { IsInvalid: false }) now.zero_();
                }
            }
            foreach (var (m, training) in _modes) m.train(training);
            if (_optimizer is not null && _optimizerState is not null)
            {
                using (var ms = new MemoryStream(_optimizerState))
                using (var r = new BinaryReader(ms)) _optimizer.load_state_dict(r);
                int i = 0;
                foreach (var g in _optimizer.ParamGroups) g.LearningRate = _lrs[i++];
            }
            torch.set_rng_state(_rng);
        }

        public void Dispose()
        {
            foreach (var t in _weights.Values) t.Dispose();
            foreach (var (_, g) in _grads) g?.Dispose();
            _rng.Dispose();
        }
    }
}
