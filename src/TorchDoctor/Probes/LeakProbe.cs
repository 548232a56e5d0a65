using System.Diagnostics;
using TorchDoctor.Observations;
using static TorchSharp.torch;

namespace TorchDoctor.Probes;

/// <summary>
/// Measures what survives a garbage collection: runs a full blocking collection, waits for finalizers (which
/// release tensors nobody references), collects again, then reads TorchSharp's live tensor count, the native
/// bytes in use and the doctor's own autograd nodes still alive (<see cref="ProbeNodes"/>: graphs of past steps). Between checks it reads nothing but the live tensor count (a static field), so it costs nothing
/// on ordinary steps.
/// </summary>
public static class LeakProbe
{
    /// <summary>Live tensors now (<c>Tensor.TotalCount</c>): every tensor created and not yet disposed or finalized.</summary>
    public static long LiveTensors => Tensor.TotalCount;

    /// <summary>Collects garbage (finalizers included) and measures what is left.</summary>
    public static MemoryCheck Check(long step)
    {
        var sw = Stopwatch.StartNew();
        GC.Collect();
        GC.WaitForPendingFinalizers();
        GC.Collect();
        double ms = sw.Elapsed.TotalMilliseconds;
        var (nodes, graphs) = ProbeNodes.Alive(step);
        return new MemoryCheck(step, Tensor.TotalCount, NativeMemory.InUseBytes(), ms, nodes, graphs);
    }
}
