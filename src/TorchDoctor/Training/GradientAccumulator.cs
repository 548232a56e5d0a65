using TorchSharp;
using static TorchSharp.torch;

namespace TorchDoctor.Training;

/// <summary>
/// Gradient accumulation with correct loss scaling: the gradient applied at each optimizer step is the gradient of the
/// mean loss over every sample of the group, including a partial last group (fewer micro-batches, or a smaller last
/// batch). Each micro-batch's mean loss is weighted by its batch size during backward and the summed gradient is divided
/// by the group's sample count before <c>optimizer.step()</c>, so the group size need not be known in advance.
/// <code>
/// var acc = new GradientAccumulator(optimizer, microBatches: 4, doctor);
/// foreach (var (x, y) in batches) {
///     var loss = functional.cross_entropy(model.call(x), y);
///     acc.Backward(loss, x.shape[0]);
///     acc.StepIfReady();
/// }
/// acc.Step();   // the partial last group
/// </code>
/// With a <see cref="Doctor"/>, carried gradients inside a group are known to be intended (no grad-not-zeroed finding).
/// </summary>
public sealed class GradientAccumulator
{
    private readonly optim.Optimizer _optimizer;
    private readonly Doctor? _doctor;
    private readonly List<TorchSharp.Modules.Parameter> _params;
    private long _samples;

    /// <summary>Accumulates <paramref name="microBatches"/> micro-batches per optimizer step.</summary>
    public GradientAccumulator(optim.Optimizer optimizer, int microBatches, Doctor? doctor = null)
    {
        ArgumentNullException.ThrowIfNull(optimizer);
        ArgumentOutOfRangeException.ThrowIfLessThan(microBatches, 1);
        _optimizer = optimizer;
        _doctor = doctor;
        MicroBatches = microBatches;
        _params = optimizer.parameters().ToList();
    }

    /// <summary>Micro-batches per optimizer step.</summary>
    public int MicroBatches { get; }
    /// <summary>Micro-batches accumulated in the current group.</summary>
    public int Pending { get; private set; }
    /// <summary>Optimizer steps taken.</summary>
    public int Steps { get; private set; }

    /// <summary>Back-propagates a micro-batch's mean loss, weighted by its <paramref name="batchSize"/>.</summary>
    public void Backward(Tensor loss, long batchSize)
    {
        ArgumentNullException.ThrowIfNull(loss);
        ArgumentOutOfRangeException.ThrowIfLessThan(batchSize, 1);
        if (Pending == 0) _optimizer.zero_grad();
        using (var scaled = loss * (double)batchSize) scaled.backward();
        _samples += batchSize;
        Pending++;
        if (_doctor is not null) _doctor.Accumulating = Pending < MicroBatches;
    }

    /// <summary>Steps when the group is complete; returns true when it stepped.</summary>
    public bool StepIfReady()
    {
        if (Pending < MicroBatches) return false;
        Step();
        return true;
    }

    /// <summary>Divides the summed gradient by the group's sample count, steps and zeroes. Call at the end for a partial group; does nothing when empty.</summary>
    public void Step()
    {
        if (Pending == 0) return;
        using (no_grad())
        {
            foreach (var p in _params)
            {
                var g = p.grad;
                if (g is not null && !g.IsInvalid) g.div_((double)_samples);
            }
        }
        _optimizer.step();
        _optimizer.zero_grad();
        Steps++;
        Pending = 0;
        _samples = 0;
        if (_doctor is not null) _doctor.Accumulating = false;
    }
}
