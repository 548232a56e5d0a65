using System.Buffers.Binary;
using System.Collections;
using System.IO.Compression;
using System.Text;
using static TorchSharp.torch;

namespace TorchDoctor.Porting;

/// <summary>
/// Reads a <c>torch.save</c> zip archive of plain containers of tensors, honouring each tensor's storage offset and
/// strides. <c>torch.save</c> writes a slice, a row or a transpose as a view into its base tensor's whole storage
/// (<c>_rebuild_tensor_v2(storage, offset, size, stride, …)</c>); TorchSharp.PyBridge assumes contiguous tensors at
/// offset 0 and fails on them, so <see cref="PyTorchFiles"/> falls back to this reader for such files. Each tensor is
/// rebuilt with <c>as_strided</c> on its storage and copied out, so the values equal what Python saved; storages
/// shared by several tensors are read once.
/// </summary>
/// <remarks>
/// A small pickle interpreter for what <c>torch.save</c> writes for dicts, lists and tuples of tensors and numbers
/// (protocol 2–5 opcodes); any other Python object (a pickled <c>nn.Module</c>, a custom class) is refused with
/// <see cref="InvalidDataException"/>.
/// </remarks>
internal static class TorchSaveViews
{
    private sealed record Global(string Module, string Name);
    private sealed record Storage(string Key, ScalarType DType, long Numel);
    private sealed class Mark;

    /// <summary>Reads the archive's root dictionary; tensors are new, contiguous copies (the caller disposes them).</summary>
    public static Hashtable Read(string path)
    {
        using var zip = ZipFile.OpenRead(path);
        var pkl = zip.Entries.FirstOrDefault(e => e.FullName.EndsWith("data.pkl", StringComparison.Ordinal))
            ?? throw new InvalidDataException("a zip archive without data.pkl");
        var prefix = pkl.FullName[..^"data.pkl".Length];
        var storages = new Dictionary<string, Tensor>(StringComparer.Ordinal);
        var made = new List<Tensor>();
        try
        {
            var root = Unpickle(Bytes(pkl, 1L << 30), (storage, offset, size, stride) =>
            {
                if (!storages.TryGetValue(storage.Key, out var flat))
                {
                    var entry = zip.GetEntry(prefix + "data/" + storage.Key) ?? throw new InvalidDataException($"storage data/{storage.Key} is missing");
                    long bytes = storage.Numel * ElementSize(storage.DType);
                    if (entry.Length != bytes)
                        throw new InvalidDataException($"storage data/{storage.Key} holds {entry.Length:N0} bytes; its tensor header says {bytes:N0}");
                    flat = empty(storage.Numel, dtype: storage.DType);
                    if (bytes > 0) flat.bytes = Bytes(entry, bytes);
                    storages[storage.Key] = flat;
                }
                if (size.Length != stride.Length || offset < 0 || size.Any(d => d < 0) || stride.Any(s => s < 0))
                    throw new InvalidDataException($"a tensor record with shape [{string.Join(", ", size)}] and strides [{string.Join(", ", stride)}] is malformed");
                double need = size.Any(d => d == 0) ? 0 : offset + 1 + size.Select((d, k) => (double)(d - 1) * stride[k]).Sum();
                if (need > storage.Numel)
                    throw new InvalidDataException($"a tensor of shape [{string.Join(", ", size)}], strides [{string.Join(", ", stride)}] at offset {offset} reaches past its storage of {storage.Numel:N0} elements");
                var t = flat.as_strided(size, stride, offset).clone();
                made.Add(t);
                return t;
            });
            return root as Hashtable ?? throw new InvalidCastException("the saved object is not a dictionary");
        }
        catch
        {
            foreach (var t in made) t.Dispose();
            throw;
        }
        finally
        {
            foreach (var s in storages.Values) s.Dispose();
        }
    }

    private static byte[] Bytes(ZipArchiveEntry e, long limit)
    {
        if (e.Length > limit || e.Length > Array.MaxLength) throw new InvalidDataException($"{e.FullName} is {e.Length:N0} bytes");
        var buffer = new byte[e.Length];
        using var s = e.Open();
        s.ReadExactly(buffer);
        return buffer;
    }

    private static int ElementSize(ScalarType t) => t switch
    {
        ScalarType.Float64 or ScalarType.Int64 or ScalarType.ComplexFloat32 => 8,
        ScalarType.Float32 or ScalarType.Int32 => 4,
        ScalarType.Float16 or ScalarType.BFloat16 or ScalarType.Int16 => 2,
        _ => 1,
    };

    private static ScalarType StorageType(string name) => name switch
    {
        "FloatStorage" => ScalarType.Float32,
        "DoubleStorage" => ScalarType.Float64,
        "HalfStorage" => ScalarType.Float16,
        "BFloat16Storage" => ScalarType.BFloat16,
        "LongStorage" => ScalarType.Int64,
        "IntStorage" => ScalarType.Int32,
        "ShortStorage" => ScalarType.Int16,
        "CharStorage" => ScalarType.Int8,
        "ByteStorage" => ScalarType.Byte,
        "BoolStorage" => ScalarType.Bool,
        _ => throw new InvalidDataException($"unsupported storage type torch.{name}"),
    };

    private delegate Tensor TensorMaker(Storage storage, long offset, long[] size, long[] stride);

    private static object? Unpickle(byte[] p, TensorMaker makeTensor)
    {
        var stack = new List<object?>();
        var marks = new Stack<int>();
        var memo = new Dictionary<long, object?>();
        int i = 0;
        object? Pop() { var o = stack[^1]; stack.RemoveAt(stack.Count - 1); return o; }
        List<object?> PopMark()
        {
            int m = marks.Pop();
            var items = stack.GetRange(m, stack.Count - m);
            stack.RemoveRange(m, stack.Count - m);
            return items;
        }
        ReadOnlySpan<byte> Take(int n)
        {
            if (n < 0 || i + n > p.Length) throw new EndOfStreamException("data.pkl ends early");
            var s = p.AsSpan(i, n);
            i += n;
            return s;
        }
        string Line()
        {
            int end = Array.IndexOf(p, (byte)'\n', i);
            if (end < 0) throw new EndOfStreamException("data.pkl ends early");
            var s = Encoding.UTF8.GetString(p, i, end - i);
            i = end + 1;
            return s;
        }
        long[] Longs(object? o) => o is object?[] t ? t.Select(x => Convert.ToInt64(x, System.Globalization.CultureInfo.InvariantCulture)).ToArray()
            : throw new InvalidDataException("a tensor's size or stride is not a tuple");

        object? Call(object? callable, object?[] args)
        {
            if (callable is not Global g) throw new InvalidDataException("REDUCE on a value that is not a class or function");
            switch (g.Module + "." + g.Name)
            {
                case "torch._utils._rebuild_tensor_v2":
                case "torch._utils._rebuild_tensor":
                    if (args.Length < 4 || args[0] is not Storage st) throw new InvalidDataException("a tensor record without its storage");
                    return makeTensor(st, Convert.ToInt64(args[1], System.Globalization.CultureInfo.InvariantCulture), Longs(args[2]), Longs(args[3]));
                case "torch._utils._rebuild_parameter":
                    return args.Length > 0 ? args[0] : throw new InvalidDataException("a parameter record without data");
                case "collections.OrderedDict":
                case "builtins.dict":
                    return new Hashtable();
                default:
                    throw new InvalidDataException($"holds a Python object of class {g.Module}.{g.Name}, not only tensors and containers");
            }
        }

        while (true)
        {
            if (i >= p.Length) throw new EndOfStreamException("data.pkl ends early");
            byte op = p[i++];
            switch (op)
            {
                case 0x80: Take(1); break;                                  // PROTO
                case 0x95: Take(8); break;                                  // FRAME
                case (byte)'.': return stack.Count > 0 ? Pop() : null;     // STOP
                case (byte)'(': marks.Push(stack.Count); break;             // MARK
                case (byte)'}': stack.Add(new Hashtable()); break;          // EMPTY_DICT
                case (byte)']': stack.Add(new List<object?>()); break;      // EMPTY_LIST
                case (byte)')': stack.Add(Array.Empty<object?>()); break;   // EMPTY_TUPLE
                case (byte)'t': stack.Add(PopMark().ToArray()); break;      // TUPLE
                case 0x85: { var a = Pop(); stack.Add(new[] { a }); break; }
                case 0x86: { var b = Pop(); var a = Pop(); stack.Add(new[] { a, b }); break; }
                case 0x87: { var c = Pop(); var b = Pop(); var a = Pop(); stack.Add(new[] { a, b, c }); break; }
                case (byte)'q': memo[Take(1)[0]] = stack[^1]; break;                                         // BINPUT
                case (byte)'r': memo[BinaryPrimitives.ReadUInt32LittleEndian(Take(4))] = stack[^1]; break;   // LONG_BINPUT
                case 0x94: memo[memo.Count] = stack[^1]; break;                                              // MEMOIZE
                case (byte)'h': stack.Add(memo.TryGetValue(Take(1)[0], out var m1) ? m1 : throw new InvalidDataException("BINGET of an unknown memo entry")); break;
                case (byte)'j': stack.Add(memo.TryGetValue(BinaryPrimitives.ReadUInt32LittleEndian(Take(4)), out var m4) ? m4 : throw new InvalidDataException("LONG_BINGET of an unknown memo entry")); break;
                case (byte)'X': { int n = checked((int)BinaryPrimitives.ReadUInt32LittleEndian(Take(4))); stack.Add(Encoding.UTF8.GetString(Take(n))); break; }
                case 0x8c: { int n = Take(1)[0]; stack.Add(Encoding.UTF8.GetString(Take(n))); break; }
                case 0x8d: { int n = checked((int)BinaryPrimitives.ReadUInt64LittleEndian(Take(8))); stack.Add(Encoding.UTF8.GetString(Take(n))); break; }
                case (byte)'U': { int n = Take(1)[0]; stack.Add(Encoding.Latin1.GetString(Take(n))); break; }
                case (byte)'C': { int n = Take(1)[0]; stack.Add(Take(n).ToArray()); break; }
                case (byte)'B': { int n = checked((int)BinaryPrimitives.ReadUInt32LittleEndian(Take(4))); stack.Add(Take(n).ToArray()); break; }
                case (byte)'J': stack.Add((long)BinaryPrimitives.ReadInt32LittleEndian(Take(4))); break;
                case (byte)'K': stack.Add((long)Take(1)[0]); break;
                case (byte)'M': stack.Add((long)BinaryPrimitives.ReadUInt16LittleEndian(Take(2))); break;
                case 0x8a:                                                                                   // LONG1
                {
                    int n = Take(1)[0];
                    if (n > 8) throw new InvalidDataException("an integer beyond 64 bits");
                    var b = Take(n);
                    long v = 0;
                    for (int k = n - 1; k >= 0; k--) v = (v << 8) | b[k];
                    if (n is > 0 and < 8 && (b[n - 1] & 0x80) != 0) v -= 1L << (8 * n);
                    stack.Add(v);
                    break;
                }
                case (byte)'G': stack.Add(BinaryPrimitives.ReadDoubleBigEndian(Take(8))); break;
                case (byte)'N': stack.Add(null); break;
                case 0x88: stack.Add(true); break;
                case 0x89: stack.Add(false); break;
                case (byte)'c': { var module = Line(); stack.Add(new Global(module, Line())); break; }          // GLOBAL
                case 0x93: { var name = Pop() as string; var module = Pop() as string; stack.Add(new Global(module ?? "", name ?? "")); break; }
                case (byte)'R': { var args = Pop() as object?[] ?? throw new InvalidDataException("REDUCE without an argument tuple"); stack.Add(Call(Pop(), args)); break; }
                case 0x81: { var args = Pop() as object?[] ?? []; stack.Add(Call(Pop(), args)); break; }    // NEWOBJ
                case (byte)'Q':                                                                              // BINPERSID
                {
                    if (Pop() is not object?[] { Length: >= 5 } pid || pid[0] as string != "storage" || pid[1] is not Global type)
                        throw new InvalidDataException("a persistent id that is not a tensor storage");
                    stack.Add(new Storage(Convert.ToString(pid[2], System.Globalization.CultureInfo.InvariantCulture) ?? "",
                        StorageType(type.Name), Convert.ToInt64(pid[4], System.Globalization.CultureInfo.InvariantCulture)));
                    break;
                }
                case (byte)'b': Pop(); break;                               // BUILD: an OrderedDict's __dict__ (_metadata): not needed
                case (byte)'s': { var v = Pop(); var k = Pop(); Dict(stack[^1])[k!] = v; break; }
                case (byte)'u':
                {
                    var items = PopMark();
                    var d = Dict(stack[^1]);
                    for (int k = 0; k + 1 < items.Count; k += 2) d[items[k]!] = items[k + 1];
                    break;
                }
                case (byte)'a': { var v = Pop(); List(stack[^1]).Add(v); break; }
                case (byte)'e': { var items = PopMark(); List(stack[^1]).AddRange(items); break; }
                case (byte)'0': Pop(); break;
                case (byte)'1': PopMark(); break;
                case (byte)'2': stack.Add(stack[^1]); break;
                default: throw new InvalidDataException($"unsupported pickle opcode 0x{op:x2} at byte {i - 1}");
            }
        }

        static Hashtable Dict(object? o) => o as Hashtable ?? throw new InvalidDataException("SETITEM on a value that is not a dictionary");
        static List<object?> List(object? o) => o as List<object?> ?? throw new InvalidDataException("APPEND on a value that is not a list");
    }
}
