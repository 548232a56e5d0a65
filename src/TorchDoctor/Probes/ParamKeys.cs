using TorchDoctor.Probes;
using static TorchSharp.torch;
using Parameter = TorchSharp.Modules.Parameter;

namespace TorchDoctor.Probes;

/// <summary>
/// Identifies parameter tensors by their handle, so a parameter registered in several modules (tied
/// weights) counts once. TorchScript modules list only their own parameters (see <see cref="ModuleTree"/>).
/// </summary>
internal sealed class ParamKeys
{
    private readonly Dictionary<(IntPtr, long, string), long> _ids = new();
    private readonly Dictionary<long, (Parameter P, List<string> Names)> _byId = new();
    private readonly Dictionary<ModuleNode, HashSet<long>> _direct = new(ReferenceEqualityComparer.Instance);
    private readonly Dictionary<ModuleNode, HashSet<long>> _under = new(ReferenceEqualityComparer.Instance);
    private readonly List<Tensor> _buffers = [];

    public ParamKeys(ModuleTree tree)
    {
        foreach (var n in tree.Nodes)
        {
            var set = new HashSet<long>();
            foreach (var (name, p) in n.DirectParameters)
            {
                var id = KeyOf(p);
                set.Add(id);
                var full = n.Path.Length == 0 ? name : n.Path + "." + name;
                if (!_byId[id].Names.Contains(full)) _byId[id].Names.Add(full);
            }
            _direct[n] = set;
        }
        foreach (var n in tree.Nodes)
            _under[n] = n.SelfAndDescendants().SelectMany(d => _direct[d]).ToHashSet();
        var seenBuf = new HashSet<(IntPtr, long, string)>();
        foreach (var n in tree.Nodes)
            foreach (var (_, b) in n.DirectBuffers)
                if (seenBuf.Add(Identity(b))) _buffers.Add(b);
    }

    /// <summary>The stable id of a parameter's storage.</summary>
    public long KeyOf(Parameter p)
    {
        var k = Identity(p);
        if (!_ids.TryGetValue(k, out var id))
        {
            id = _ids.Count;
            _ids[k] = id;
            _byId[id] = (p, []);
        }
        return id;
    }

    /// <summary>
    /// Storage address, offset and shape: two wrappers of one native tensor (e.g. a weight tied with
    /// <c>decoder.weight = embed.weight</c>, whose getter wraps the native tensor anew) share it.
    /// Falls back to the wrapper handle for dtypes TorchSharp exposes no storage for.
    /// </summary>
    internal static (IntPtr, long, string) Identity(Tensor t)
    {
        var shape = string.Join(",", t.shape) + "/" + t.dtype;
        try
        {
            IntPtr ptr = t.dtype switch
            {
                ScalarType.Float32 => StoragePtr<float>(t),
                ScalarType.Float64 => StoragePtr<double>(t),
                ScalarType.Int64 => StoragePtr<long>(t),
                ScalarType.Int32 => StoragePtr<int>(t),
                _ => IntPtr.Zero,
            };
            if (ptr != IntPtr.Zero) return (ptr, t.storage_offset(), shape);
        }
        catch (NotSupportedException) { }
        return (t.Handle, -1, shape);
    }

    private static IntPtr StoragePtr<T>(Tensor t) where T : unmanaged
    {
        using var s = t.storage<T>();
        return s.data_ptr();
    }

    public IEnumerable<(long Key, Parameter Parameter)> Unique => _byId.Select(kv => (kv.Key, kv.Value.P));
    public IEnumerable<Tensor> UniqueBuffers => _buffers;
    public HashSet<long> Direct(ModuleNode n) => _direct.TryGetValue(n, out var s) ? s : [];
    public HashSet<long> Under(ModuleNode n) => _under.TryGetValue(n, out var s) ? s : [];
    public long Numel(long key) => _byId[key].P.numel();
    public bool RequiresGrad(long key) => _byId[key].P.requires_grad;

    /// <summary>Names of parameters registered under more than one name.</summary>
    public IEnumerable<List<string>> SharedGroups() => _byId.Values.Where(v => v.Names.Count > 1).Select(v => v.Names);
}

/// <summary>Mult-adds of one module call, following torchinfo's documented convention (docs/summary-conventions.md).</summary>
public static class MultAdds
{
    /// <summary>
    /// For each parameter of the module: named <c>weight</c>/<c>bias</c> in a Conv* module:
    /// numel × N × ∏ output spatial dims; in a *Linear* module: numel × ∏ output dims but the last;
    /// in any other module: numel × output[0]. Other parameter names containing "weight"/"bias" (RNN
    /// <c>weight_ih_l0</c>…): numel × output[0] × output[1]. Batch included.
    /// </summary>
    public static long Of(ModuleNode node, long[] outputShape)
    {
        if (outputShape.Length == 0) return 0;
        long total = 0;
        var type = node.TypeName;
        foreach (var (name, p) in node.SelfAndDescendants().SelectMany(d => d.DirectParameters.Select(x => (Name: d == node ? x.Name : x.Name, x.Parameter))))
        {
            var n = p.numel();
            if (name is "weight" or "bias")
            {
                if (type.Contains("Conv", StringComparison.Ordinal))
                    total += n * outputShape[0] * Prod(outputShape.Skip(2));
                else if (type.Contains("Linear", StringComparison.Ordinal))
                    total += n * Prod(outputShape.Take(outputShape.Length - 1));
                else
                    total += outputShape[0] * n;
            }
            else if (name.Contains("weight", StringComparison.Ordinal) || name.Contains("bias", StringComparison.Ordinal))
            {
                total += Prod(outputShape.Take(2)) * n;
            }
        }
        return total;
    }

    private static long Prod(IEnumerable<long> xs) => xs.Aggregate(1L, (a, b) => a * b);
}
