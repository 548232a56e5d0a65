using static TorchSharp.torch;
using Module = TorchSharp.torch.nn.Module;

namespace TorchDoctor.Training;

/// <summary>
/// Early stopping with best-weights restore: call <see cref="Update"/> with the validation metric after each epoch; it
/// keeps a copy of the weights (parameters and buffers) of the best epoch and says when <see cref="Patience"/> epochs
/// passed without an improvement of at least <see cref="MinDelta"/>. <see cref="RestoreBest"/> copies them back.
/// <code>
/// using var stop = new EarlyStopping(model, patience: 3, doctor: doctor);   // the doctor is optional
/// for (int epoch = 0; epoch &lt; 100; epoch++) {
///     Train(...); var val = Evaluate(...);
///     if (stop.Update(val)) break;
/// }
/// stop.RestoreBest();
/// </code>
/// </summary>
public sealed class EarlyStopping : IDisposable
{
    private readonly Module _model;
    private Dictionary<string, Tensor>? _best;
    private int _epoch = -1;

    /// <summary>
    /// Watches <paramref name="model"/>; lower is better unless <paramref name="higherIsBetter"/>. Given the run's
    /// <paramref name="doctor"/>, an overfitting finding becomes information (the remedy is in place) instead of a warning.
    /// </summary>
    public EarlyStopping(Module model, int patience = 3, double minDelta = 0, bool higherIsBetter = false, Doctor? doctor = null)
    {
        if (doctor is not null) doctor.EarlyStopping = this;
        ArgumentNullException.ThrowIfNull(model);
        ArgumentOutOfRangeException.ThrowIfLessThan(patience, 1);
        _model = model;
        Patience = patience;
        MinDelta = minDelta;
        HigherIsBetter = higherIsBetter;
    }

    /// <summary>Epochs without improvement before stopping.</summary>
    public int Patience { get; }
    /// <summary>Smallest change that counts as an improvement.</summary>
    public double MinDelta { get; }
    /// <summary>True for metrics like accuracy.</summary>
    public bool HigherIsBetter { get; }
    /// <summary>The best value so far (NaN before the first update).</summary>
    public double Best { get; private set; } = double.NaN;
    /// <summary>The epoch (0-based count of <see cref="Update"/> calls) of the best value, or -1.</summary>
    public int BestEpoch { get; private set; } = -1;
    /// <summary>Epochs since the best.</summary>
    public int EpochsWithoutImprovement => _epoch - BestEpoch;
    /// <summary>True once <see cref="Update"/> returned true.</summary>
    public bool Stopped { get; private set; }

    /// <summary>Records this epoch's metric; returns true when training should stop.</summary>
    public bool Update(double metric)
    {
        _epoch++;
        bool better = double.IsFinite(metric) && (BestEpoch < 0 || (HigherIsBetter ? metric > Best + MinDelta : metric < Best - MinDelta));
        if (better)
        {
            Best = metric;
            BestEpoch = _epoch;
            Snapshot();
        }
        Stopped = EpochsWithoutImprovement >= Patience;
        return Stopped;
    }

    /// <summary>Copies the best epoch's weights back into the model (in place, bit-identical). No-op before the first update.</summary>
    public void RestoreBest()
    {
        if (_best is null) return;
        using var _ = no_grad();
        foreach (var (name, t) in _model.state_dict())
            if (_best.TryGetValue(name, out var saved)) t.copy_(saved);
    }

    private void Snapshot()
    {
        using var _ = no_grad();
        var copy = _model.state_dict().ToDictionary(kv => kv.Key, kv => kv.Value.detach().clone().DetachFromDisposeScope());
        Free();
        _best = copy;
    }

    private void Free()
    {
        if (_best is null) return;
        foreach (var t in _best.Values) t.Dispose();
        _best = null;
    }

    /// <summary>Frees the saved weights.</summary>
    public void Dispose() => Free();
}
