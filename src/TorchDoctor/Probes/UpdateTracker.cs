using static TorchSharp.torch;

namespace TorchDoctor.Probes;

/// <summary>
/// ‖Δw‖ of each parameter across one optimizer step: <see cref="Capture"/> copies the weights into buffers that are
/// reused from one sampled step to the next (no allocation per step), <see cref="Measure"/> turns each buffer into
/// w_before − w_after in place and reads every ‖Δw‖ back at once. <see cref="Release"/> frees the buffers (the doctor
/// does so whenever the next step will not be sampled, so the copy of the weights lives only through dense phases).
/// Training numerics are untouched: the weights are only read.
/// </summary>
internal sealed class UpdateTracker : IDisposable
{
    private Tensor[]? _buffers;
    private bool _captured;

    /// <summary>True between <see cref="Capture"/> and <see cref="Measure"/>.</summary>
    public bool Captured => _captured;

    /// <summary>Copies <paramref name="weights"/> into the buffers (allocated on first use or when shapes change).</summary>
    public void Capture(IReadOnlyList<Tensor> weights)
    {
        using var _ = no_grad();
        if (_buffers is null || _buffers.Length != weights.Count ||
            _buffers.Where((b, i) => b.dtype != weights[i].dtype || b.device_type != weights[i].device_type || !b.shape.SequenceEqual(weights[i].shape)).Any())
        {
            Release();
            _buffers = weights.Select(w => empty_like(w).DetachFromDisposeScope()).ToArray();
        }
        for (int i = 0; i < weights.Count; i++) _buffers[i].copy_(weights[i].detach());
        _captured = true;
    }

    /// <summary>‖w_captured − w_now‖ per parameter (one host read). The buffers then hold the differences until the next capture.</summary>
    public double[] Measure(IReadOnlyList<Tensor> weights)
    {
        if (!_captured || _buffers is null) throw new InvalidOperationException("Capture before Measure.");
        _captured = false;
        using var scope = NewDisposeScope();
        using var _ = no_grad();
        var parts = new Tensor[weights.Count];
        for (int i = 0; i < weights.Count; i++)
        {
            var d = _buffers[i].sub_(weights[i].detach()).reshape(-1);
            parts[i] = d.dot(d);
        }
        return parts.Length == 0 ? [] : TensorStats.Read(parts).Select(Math.Sqrt).ToArray();
    }

    /// <summary>Frees the buffers.</summary>
    public void Release()
    {
        _captured = false;
        if (_buffers is null) return;
        foreach (var b in _buffers) b.Dispose();
        _buffers = null;
    }

    /// <inheritdoc />
    public void Dispose() => Release();
}
