using System.Runtime.CompilerServices;
using static TorchSharp.torch;

namespace TorchDoctor.Probes;

/// <summary>What a probe keeps of a tensor: its shape, dtype and size, never the tensor itself.</summary>
/// <param name="Shape">The tensor's shape.</param>
/// <param name="DType">Its element type.</param>
/// <param name="Bytes">Its data size in bytes (elements × element size).</param>
public sealed record TensorInfo(long[] Shape, ScalarType DType, long Bytes)
{
    /// <summary>Reads the metadata of <paramref name="t"/> (no data is copied).</summary>
    public static TensorInfo Of(Tensor t) => new(t.shape, t.dtype, t.numel() * t.ElementSize);

    /// <summary>Number of elements.</summary>
    public long Elements => Shape.Aggregate(1L, (a, b) => a * b);

    /// <summary>The shape as PyTorch prints lists: <c>[4, 20]</c>.</summary>
    public string ShapeText => FormatShape(Shape);

    /// <summary>Formats a shape as <c>[4, 20]</c>.</summary>
    public static string FormatShape(IEnumerable<long> shape) => "[" + string.Join(", ", shape) + "]";

    /// <summary>
    /// Every tensor found in an argument or result: a tensor, a tuple of them (nested), an array or list.
    /// Null and undefined values are skipped.
    /// </summary>
    public static List<TensorInfo> Collect(object? value)
    {
        var list = new List<TensorInfo>();
        Walk(value, list, 0);
        return list;
    }

    private static void Walk(object? value, List<TensorInfo> into, int depth)
    {
        if (value is null || depth > 4) return;
        switch (value)
        {
            case Tensor t:
                if (t.IsInvalid) return;
                into.Add(Of(t));
                break;
            case ITuple tuple:
                for (int i = 0; i < tuple.Length; i++) Walk(tuple[i], into, depth + 1);
                break;
            case System.Collections.IEnumerable seq when value is not string:
                foreach (var item in seq) Walk(item, into, depth + 1);
                break;
        }
    }

    /// <summary>Every valid tensor in an argument or result: a tensor, tuples (nested), arrays or lists.</summary>
    internal static IEnumerable<Tensor> Tensors(object? value)
    {
        switch (value)
        {
            case null: yield break;
            case Tensor t:
                if (!t.IsInvalid) yield return t;
                yield break;
            case System.Runtime.CompilerServices.ITuple tuple:
                for (int i = 0; i < tuple.Length; i++)
                    foreach (var x in Tensors(tuple[i])) yield return x;
                yield break;
            case System.Collections.IEnumerable seq when value is not string:
                foreach (var item in seq)
                    foreach (var x in Tensors(item)) yield return x;
                yield break;
        }
    }
}
