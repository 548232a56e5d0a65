using TorchDoctor.Probes;
using static TorchSharp.torch;
using Module = TorchSharp.torch.nn.Module<TorchSharp.torch.Tensor, TorchSharp.torch.Tensor>;

namespace TorchDoctor.Profiling;

/// <summary>What an inference forward pass holds with grad mode on and off (measured, not estimated).</summary>
/// <param name="WithGradBytes">Native bytes held by the output (and its graph) after a forward pass with grad mode on.</param>
/// <param name="NoGradBytes">The same under <c>torch.no_grad()</c>.</param>
public sealed record GradModeCost(long WithGradBytes, long NoGradBytes)
{
    /// <summary>Bytes <c>torch.no_grad()</c> saves per forward pass whose output is kept.</summary>
    public long SavedBytes => Math.Max(0, WithGradBytes - NoGradBytes);
}

/// <summary>
/// Measures the memory cost of running inference with grad mode on: the autograd graph keeps the activations every
/// layer saved for backward alive as long as the output lives. The finding for "evaluation with grad on" belongs to the
/// convergence range; it reports these bytes (<see cref="Measure"/>).
/// </summary>
public static class InferenceMemory
{
    /// <summary>Runs <paramref name="model"/> on <paramref name="input"/> with grad mode on, then off, measuring native bytes held by each output.</summary>
    public static GradModeCost Measure(Module model, Tensor input)
    {
        ArgumentNullException.ThrowIfNull(model);
        ArgumentNullException.ThrowIfNull(input);
        long with, without;
        using (enable_grad()) with = Held(model, input);
        using (no_grad()) without = Held(model, input);
        return new GradModeCost(with, without);
    }

    // The same measurement as the loop probe makes on a live evaluation with grad on (TD2115's evidence): native bytes
    // in use after a collection, before the forward and after it with the output kept.
    private static long Held(Module model, Tensor input)
    {
        using var scope = NewDisposeScope();
        long before = NativeMemory.InUseBytesAfterCollection();
        var output = model.call(input);
        long after = NativeMemory.InUseBytesAfterCollection();
        GC.KeepAlive(output);
        return Math.Max(0, after - before);
    }
}
