using TorchSharp;
using static TorchSharp.torch;

namespace TorchDoctor.Probes;

/// <summary>
/// Counts TorchDoctor's own identity autograd nodes that are still alive. TorchSharp keeps, for every custom autograd
/// node, one tensor (<c>empty_like</c> of its output, for materialising gradients) for as long as the node is part of a
/// live graph. A loop that keeps a graph alive across steps (<c>total = total + loss</c>, a list of losses) therefore keeps
/// these nodes too: counting them tells the leak watch (1) how many live tensors are TorchDoctor's, not the program's, and
/// (2) how many past steps' graphs are still alive, through the one marker node the loop probe puts at the model's output
/// in every training step. Counted through weak references to the object each node saves, so it holds nothing alive.
/// Thread-safe; bounded (tracking stops at <see cref="Capacity"/> live entries).
/// </summary>
public static class ProbeNodes
{
    /// <summary>Most entries tracked at once; beyond it new nodes are not tracked (a leak that large is found long before).</summary>
    public const int Capacity = 100_000;

    private static readonly object Gate = new();
    private static readonly List<Entry> Entries = [];
    private static int _pruneAt = 1024;
    private static long _cachedBytes;

    /// <summary>
    /// Bytes of the tensors TorchSharp cached for TorchDoctor's nodes, summed over every node created so far (monotonic):
    /// the difference across a forward pass is what the doctor's own nodes added to that pass's graph.
    /// </summary>
    public static long CachedBytesCreated
    {
        get { lock (Gate) return _cachedBytes; }
    }

    private readonly record struct Entry(WeakReference Token, long Step, bool Marker, bool Unscoped);

    /// <summary>
    /// Creates one of TorchDoctor's identity nodes through <paramref name="apply"/> and tracks it through
    /// <paramref name="token"/> (the object the node saves; collectable once the node is freed). <paramref name="step"/>
    /// is the training step it belongs to; <paramref name="marker"/> marks the one output node of that step. Whether a
    /// dispose scope was active decides who frees the node's cached tensor: the scope (at its end) or the node (when the
    /// graph dies).
    /// </summary>
    internal static Tensor Apply(Func<Tensor> apply, object token, long step, bool marker = false)
    {
        long outside = DisposeScopeManager.Statistics.CreatedOutsideScopeCount;
        var result = apply();
        bool unscoped = DisposeScopeManager.Statistics.CreatedOutsideScopeCount > outside;
        long bytes = result.IsInvalid ? 0 : result.numel() * result.element_size();
        lock (Gate)
        {
            _cachedBytes += bytes;
            if (Entries.Count >= _pruneAt)
            {
                Entries.RemoveAll(e => !e.Token.IsAlive);
                _pruneAt = Math.Max(1024, Entries.Count * 2);
            }
            if (Entries.Count < Capacity) Entries.Add(new Entry(new WeakReference(token), step, marker, unscoped));
        }
        return result;
    }

    /// <summary>
    /// At the end of step <paramref name="currentStep"/>: the live tensors TorchDoctor's nodes hold (nodes made outside a
    /// dispose scope, and this step's nodes), and the live output markers of earlier steps (graphs of past steps still
    /// alive). Exact only right after a full collection (<see cref="LeakProbe.Check"/>).
    /// </summary>
    public static (long Tensors, long PastStepGraphs) Alive(long currentStep)
    {
        lock (Gate)
        {
            Entries.RemoveAll(e => !e.Token.IsAlive);
            long tensors = Entries.Count(e => e.Unscoped || e.Step >= currentStep);
            long past = Entries.Count(e => e.Marker && e.Step < currentStep);
            return (tensors, past);
        }
    }
}
