using System.Collections;
using System.IO.Compression;
using System.Text;
using System.Text.Json;
using TorchDoctor.Inspection;
using TorchSharp.PyBridge;
using static TorchSharp.torch;

namespace TorchDoctor.Porting;

/// <summary>Named tensors read from a PyTorch file (a <c>state_dict</c>), in the file's order when it keeps one. Dispose to free them.</summary>
public sealed class TensorFile : IDisposable
{
    internal TensorFile(string path, string format, List<KeyValuePair<string, Tensor>> tensors, bool orderKnown, string? note)
    {
        Path = path;
        Format = format;
        Tensors = tensors;
        OrderKnown = orderKnown;
        Note = note;
    }

    /// <summary>The file.</summary>
    public string Path { get; }
    /// <summary><c>torch.save</c> or <c>safetensors</c>.</summary>
    public string Format { get; }
    /// <summary>The tensors by key, in the order of the saved <c>state_dict</c> when <see cref="OrderKnown"/>.</summary>
    public IReadOnlyList<KeyValuePair<string, Tensor>> Tensors { get; }
    /// <summary>
    /// True when <see cref="Tensors"/> is in the saved <c>state_dict</c>'s order (<c>torch.save</c> files keep it;
    /// safetensors files store tensors sorted by dtype and name).
    /// </summary>
    public bool OrderKnown { get; }
    /// <summary>Something the reader did that the user should know (e.g. took <c>checkpoint["model"]</c>), or null.</summary>
    public string? Note { get; }

    /// <inheritdoc />
    public void Dispose()
    {
        foreach (var (_, t) in Tensors) t.Dispose();
    }
}

/// <summary>A reference input/output pair saved in Python, with intermediate outputs by module path when present.</summary>
public sealed class ReferenceData : IDisposable
{
    internal ReferenceData(string path, List<Tensor> inputs, List<Tensor> outputs, Dictionary<string, Tensor> layers)
    {
        Path = path;
        Inputs = inputs;
        Outputs = outputs;
        Layers = layers;
    }

    /// <summary>The file.</summary>
    public string Path { get; }
    /// <summary>The model's inputs (usually one).</summary>
    public IReadOnlyList<Tensor> Inputs { get; }
    /// <summary>PyTorch's outputs for them (usually one).</summary>
    public IReadOnlyList<Tensor> Outputs { get; }
    /// <summary>Intermediate outputs by PyTorch module path (<c>layer1.0.conv1</c>); empty when the file has none.</summary>
    public IReadOnlyDictionary<string, Tensor> Layers { get; }

    /// <inheritdoc />
    public void Dispose()
    {
        foreach (var t in Inputs.Concat(Outputs).Concat(Layers.Values)) t.Dispose();
    }
}

/// <summary>
/// Reads PyTorch files with TorchSharp.PyBridge: a <c>state_dict</c> saved with <c>torch.save</c> (zip format,
/// PyTorch ≥ 1.6) or a <c>.safetensors</c> file, and reference files (<c>torch.save({"input": x, "output": y,
/// "layers": {...}})</c>, or safetensors with keys <c>input</c>, <c>output</c>, <c>layers.&lt;path&gt;</c>). Every
/// unreadable file becomes a <see cref="ModelFileException"/> whose message names the file, what is wrong and what to do.
/// </summary>
public static class PyTorchFiles
{
    private static readonly string[] NestedStateDictKeys = ["state_dict", "model_state_dict", "model", "net", "module", "weights", "params"];

    /// <summary>Reads a <c>state_dict</c> (torch.save or safetensors).</summary>
    public static TensorFile ReadStateDict(string path)
    {
        var (root, format, order) = ReadRoot(path, "state_dict");
        string? note = null;
        var tensors = TensorsOf(root);
        if (tensors.Count == 0)
        {
            // A training checkpoint: {"model": state_dict, "optimizer": ..., "epoch": 3}.
            var nested = root.Keys.OfType<string>()
                .Where(k => root[k] is Hashtable h && TensorsOf(h).Count > 0)
                .OrderBy(k => Array.IndexOf(NestedStateDictKeys, k) is var i && i >= 0 ? i : 99)
                .FirstOrDefault();
            if (nested is null)
            {
                DisposeAll(root);
                throw new ModelFileException($"{path}: holds no tensors (keys: {string.Join(", ", root.Keys.OfType<object>().Take(8))}). Save the model's weights with torch.save(model.state_dict(), path).");
            }
            note = $"the file is a checkpoint; its state_dict is checkpoint[\"{nested}\"]";
            foreach (var k in root.Keys.OfType<object>().Where(k => !Equals(k, nested)).ToList()) DisposeAll(root[k]);
            root = (Hashtable)root[nested]!;
            tensors = TensorsOf(root);
        }
        var ordered = Order(tensors, order, out bool known);
        return new TensorFile(path, format, ordered, known && format != "safetensors", note);
    }

    /// <summary>Reads a reference file: <c>input</c> (or <c>inputs</c>), <c>output</c> (or <c>outputs</c>), optional <c>layers</c>.</summary>
    public static ReferenceData ReadReference(string path)
    {
        var (root, format, _) = ReadRoot(path, "reference");
        try
        {
            if (format == "safetensors")
            {
                var flat = root.Keys.OfType<string>().ToDictionary(k => k, k => (Tensor)root[k]!);
                List<Tensor> Seq(string name) => flat.ContainsKey(name) ? [flat[name]]
                    : flat.Keys.Where(k => k.StartsWith(name + ".", StringComparison.Ordinal) && int.TryParse(k[(name.Length + 1)..], out _))
                        .OrderBy(k => int.Parse(k[(name.Length + 1)..], System.Globalization.CultureInfo.InvariantCulture)).Select(k => flat[k]).ToList();
                var ins = Seq("input");
                var outs = Seq("output");
                Check(path, ins, outs, flat.Keys);
                var layers = flat.Where(kv => kv.Key.StartsWith("layers.", StringComparison.Ordinal)).ToDictionary(kv => kv.Key["layers.".Length..], kv => kv.Value);
                return new ReferenceData(path, ins, outs, layers);
            }
            var inputs = Many(root["input"] ?? root["inputs"]);
            var outputs = Many(root["output"] ?? root["outputs"]);
            Check(path, inputs, outputs, root.Keys.OfType<object>().Select(k => k.ToString() ?? ""));
            var layerTable = root["layers"] as Hashtable;
            var layerDict = layerTable is null ? new Dictionary<string, Tensor>()
                : layerTable.Keys.OfType<string>().Where(k => layerTable[k] is Tensor).ToDictionary(k => k, k => (Tensor)layerTable[k]!);
            return new ReferenceData(path, inputs, outputs, layerDict);
        }
        catch
        {
            DisposeAll(root);
            throw;
        }
    }

    private static void Check(string path, List<Tensor> inputs, List<Tensor> outputs, IEnumerable<string> keys)
    {
        if (inputs.Count == 0 || outputs.Count == 0)
            throw new ModelFileException($"{path}: a reference needs tensors under \"input\" and \"output\" (found keys: {string.Join(", ", keys.Take(8))}). " +
                "Save it in Python with torch.save({\"input\": x, \"output\": model(x)}, \"ref.pt\").");
    }

    private static List<Tensor> Many(object? value) => value switch
    {
        Tensor t => [t],
        object[] tuple => tuple.OfType<Tensor>().ToList(),
        IList list => list.OfType<Tensor>().ToList(),
        _ => [],
    };

    private static List<KeyValuePair<string, Tensor>> TensorsOf(Hashtable h)
        => h.Keys.OfType<string>().Where(k => h[k] is Tensor).Select(k => new KeyValuePair<string, Tensor>(k, (Tensor)h[k]!)).ToList();

    private static List<KeyValuePair<string, Tensor>> Order(List<KeyValuePair<string, Tensor>> tensors, IReadOnlyList<string>? order, out bool known)
    {
        known = false;
        if (order is null) return tensors.OrderBy(kv => kv.Key, StringComparer.Ordinal).ToList();
        var rank = new Dictionary<string, int>(StringComparer.Ordinal);
        foreach (var s in order) rank.TryAdd(s, rank.Count);
        known = tensors.All(kv => rank.ContainsKey(kv.Key));
        return tensors.OrderBy(kv => rank.GetValueOrDefault(kv.Key, int.MaxValue)).ThenBy(kv => kv.Key, StringComparer.Ordinal).ToList();
    }

    private static void DisposeAll(object? o)
    {
        switch (o)
        {
            case Tensor t: t.Dispose(); break;
            case Hashtable h: foreach (var v in h.Values) DisposeAll(v); break;
            case IList l: foreach (var v in l) DisposeAll(v); break;
        }
    }

    /// <summary>Reads the file's top-level dictionary; the string order of <c>data.pkl</c> for torch.save files.</summary>
    private static (Hashtable Root, string Format, IReadOnlyList<string>? Order) ReadRoot(string path, string what)
    {
        if (path.EndsWith(".br", StringComparison.OrdinalIgnoreCase) && File.Exists(path))
        {
            // A Brotli-compressed file (how the repository ships its larger fixtures): read the file it holds.
            var plain = System.IO.Path.Combine(System.IO.Path.GetTempPath(), "torchdoctor-" + Guid.NewGuid().ToString("N") + System.IO.Path.GetExtension(path[..^3]));
            try
            {
                try
                {
                    using (var input = File.OpenRead(path))
                    using (var br = new BrotliStream(input, CompressionMode.Decompress))
                    using (var output = File.Create(plain))
                        br.CopyTo(output);
                }
                catch (InvalidDataException e)
                {
                    throw new ModelFileException($"{path}: not a complete Brotli stream ({e.Message.TrimEnd('.')}); files ending in .br are read as Brotli-compressed.", e);
                }
                try { return ReadRoot(plain, what); }
                catch (ModelFileException e) { throw new ModelFileException(e.Message.Replace(plain, path + " (decompressed)", StringComparison.Ordinal), e); }
            }
            finally
            {
                try { File.Delete(plain); } catch (IOException) { }
            }
        }
        Runtime.TorchRuntime.EnsureLoaded();
        if (IO.InputFile.Problem(path, $"a {what} saved with torch.save or safetensors") is { } problem)
            throw new ModelFileException($"{path}: {problem}.");
        var info = new FileInfo(path);
        var head = new byte[16];
        int n;
        using (var fs = File.OpenRead(path)) n = fs.Read(head, 0, head.Length);
        if (n >= 4 && head[0] == 'P' && head[1] == 'K' && head[2] == 3 && head[3] == 4)
            return ReadTorchZip(path, what);
        if (n >= 9 && head[8] == '{')
            return (ReadSafetensors(path, info.Length), "safetensors", null);
        if (n >= 2 && head[0] == 0x80 && head[1] <= 5)
            throw new ModelFileException($"{path}: saved in PyTorch's legacy (pre-1.6, non-zip) format, which TorchSharp.PyBridge cannot read. " +
                "Re-save it from Python: torch.save(torch.load(path), path2) (the default format since PyTorch 1.6).");
        if (n == 0)
            throw new ModelFileException($"{path}: the file is empty.");
        throw new ModelFileException($"{path}: not a PyTorch file (a torch.save file is a zip archive starting with 'PK', a safetensors file starts with a header length and '{{'; this one starts with 0x{Convert.ToHexString(head, 0, Math.Min(n, 4))}). " +
            $"Give the {what} saved with torch.save(...) or safetensors.torch.save_file(...).");
    }

    private static (Hashtable, string, IReadOnlyList<string>?) ReadTorchZip(string path, string what)
    {
        List<string>? order = null;
        if (IO.ZipIntegrity.Problem(path) is { } damaged) throw new ModelFileException($"{path}: {damaged}");
        try
        {
            using (var zip = ZipFile.OpenRead(path))
            {
                var names = zip.Entries.Select(e => e.FullName).ToList();
                if (names.Any(e => e.EndsWith("/constants.pkl", StringComparison.Ordinal) || e.Contains("/code/", StringComparison.Ordinal)))
                    throw new ModelFileException($"{path}: a TorchScript archive (torch.jit.save), not a {what}. " +
                        (what == "state_dict" ? "Save the weights with torch.save(model.state_dict(), path)." : "Save the reference with torch.save({\"input\": x, \"output\": y}, path)."));
                var pkl = zip.Entries.FirstOrDefault(e => e.FullName.EndsWith("data.pkl", StringComparison.Ordinal))
                    ?? throw new ModelFileException($"{path}: a zip archive without data.pkl: not written by torch.save.");
                using var s = pkl.Open();
                using var ms = new MemoryStream();
                s.CopyTo(ms);
                order = PickleStrings(ms.ToArray());
            }
            Hashtable root;
            try
            {
                root = PyTorchUnpickler.UnpickleStateDict(path);
            }
            catch (Exception e) when (IsViewFailure(e))
            {
                // A tensor saved as a view (a slice, a row, a transpose: storage offset and strides) that PyBridge
                // cannot rebuild: read the archive again honouring offsets and strides.
                root = ReadViews(path, what, e);
            }
            return (root, "torch.save", order);
        }
        catch (ModelFileException) { throw; }
        catch (InvalidDataException e)
        {
            throw new ModelFileException($"{path}: truncated or damaged ({e.Message.TrimEnd('.')}); an incomplete download or copy? Copy or save the file again.", e);
        }
        catch (EndOfStreamException e)
        {
            throw new ModelFileException($"{path}: truncated (the data ends early); copy or save the file again.", e);
        }
        catch (NotImplementedException e) when (e.Message.Contains("entire model", StringComparison.Ordinal))
        {
            throw new ModelFileException($"{path}: holds a whole pickled model (torch.save(model)), which needs Python classes to read. " +
                "Save its weights instead: torch.save(model.state_dict(), path).", e);
        }
        catch (InvalidCastException e)
        {
            throw new ModelFileException($"{path}: the saved object is not a dictionary; a {what} is a dict of tensors (torch.save(model.state_dict(), path)).", e);
        }
        catch (Exception e) when (e is NotImplementedException or Razorvine.Pickle.PickleException or InvalidOperationException or ArgumentException or KeyNotFoundException)
        {
            throw new ModelFileException($"{path}: torch.save archive that TorchSharp.PyBridge cannot read ({ShapeExplainer.FirstLine(e.Message)}). " +
                $"It must hold a {what}: a dict of tensors, without Python objects.", e);
        }
        catch (Exception e) when (IsViewFailure(e))
        {
            throw new ModelFileException($"{path}: a tensor in it is a view (a slice or stride of a larger storage) that TorchSharp.PyBridge cannot rebuild " +
                $"({ShapeExplainer.FirstLine(e.Message)}). Save copies instead: torch.save({{k: v.contiguous().clone() for k, v in sd.items()}}, path).", e);
        }
        catch (Exception e) when (e is not OutOfMemoryException and not Runtime.TorchRuntimeUnavailableException)
        {
            throw new ModelFileException($"{path}: cannot be read as a torch.save {what} ({e.GetType().Name}: {ShapeExplainer.FirstLine(e.Message)}); is the file complete and written by torch.save?", e);
        }
    }

    /// <summary>PyBridge's failures on a tensor saved as a view of a larger storage.</summary>
    private static bool IsViewFailure(Exception e) =>
        (e is System.Runtime.InteropServices.ExternalException && e.Message.Contains("out of bounds", StringComparison.Ordinal))
        || e.Message.Contains("non-contiguous", StringComparison.Ordinal);

    private static Hashtable ReadViews(string path, string what, Exception pyBridgeError)
    {
        try
        {
            return TorchSaveViews.Read(path);
        }
        catch (Exception e) when (e is InvalidDataException or EndOfStreamException or InvalidCastException or OverflowException or FormatException
                                  or System.Runtime.InteropServices.ExternalException)
        {
            throw new ModelFileException($"{path}: a tensor in it is a view (a slice or stride of a larger storage) that cannot be rebuilt " +
                $"({ShapeExplainer.FirstLine(e.Message)}). Is the file complete? Or save copies: torch.save({{k: v.contiguous().clone() for k, v in sd.items()}}, path).",
                new AggregateException(pyBridgeError, e));
        }
    }

    private static Hashtable ReadSafetensors(string path, long length)
    {
        // Check the header before PyBridge reads it, so a cut file gets a clear message.
        ulong headerLength;
        byte[] header;
        using (var fs = File.OpenRead(path))
        {
            var lenBytes = new byte[8];
            fs.ReadExactly(lenBytes);
            headerLength = BitConverter.ToUInt64(lenBytes);
            if (headerLength > 100_000_000)
                throw new ModelFileException($"{path}: not a safetensors file (its header length {headerLength:N0} bytes is beyond the format's 100 MB limit).");
            if (headerLength > (ulong)(length - 8))
                throw new ModelFileException($"{path}: truncated or not a safetensors file (its header claims {headerLength} bytes; the file has {length}).");
            header = new byte[headerLength];
            fs.ReadExactly(header);
        }
        long end = 0;
        try
        {
            using var doc = JsonDocument.Parse(header);
            foreach (var p in doc.RootElement.EnumerateObject())
                if (p.Name != "__metadata__" && p.Value.TryGetProperty("data_offsets", out var off))
                    end = Math.Max(end, off[1].GetInt64());
        }
        catch (Exception e) when (e is InvalidOperationException or FormatException or IndexOutOfRangeException or KeyNotFoundException)
        {
            throw new ModelFileException($"{path}: not a safetensors file (its header is JSON but not a safetensors header: {e.Message}).", e);
        }
        catch (JsonException e)
        {
            throw new ModelFileException($"{path}: not a safetensors file (its header is not JSON: {e.Message}).", e);
        }
        if (8 + (long)headerLength + end > length)
            throw new ModelFileException($"{path}: truncated: its header describes {8 + (long)headerLength + end} bytes, the file has {length}. Copy or save it again.");
        try
        {
            var dict = Safetensors.LoadStateDict(path);
            var h = new Hashtable();
            foreach (var (k, v) in dict) h[k] = v;
            return h;
        }
        catch (Exception e) when (e is not OutOfMemoryException and not Runtime.TorchRuntimeUnavailableException)
        {
            throw new ModelFileException($"{path}: a safetensors file TorchSharp.PyBridge cannot read ({ShapeExplainer.FirstLine(e.Message)}).", e);
        }
    }

    /// <summary>
    /// The unicode strings of a pickle stream, in order. A <c>state_dict</c>'s keys appear in the dictionary's
    /// order; PyBridge returns a Hashtable (unordered), so this recovers the order. Walks the opcodes properly
    /// (protocols 0-5) so bytes inside other arguments are never mistaken for strings.
    /// </summary>
    internal static List<string> PickleStrings(byte[] p)
    {
        var result = new List<string>();
        int i = 0;
        int ReadLine() { int s = i; while (i < p.Length && p[i] != '\n') i++; i++; return s; }
        long U(int bytes) { long v = 0; for (int k = 0; k < bytes; k++) v |= (long)p[i + k] << (8 * k); i += bytes; return v; }
        while (i < p.Length)
        {
            byte op = p[i++];
            switch (op)
            {
                case (byte)'X': { int len = (int)U(4); result.Add(Encoding.UTF8.GetString(p, i, len)); i += len; break; }
                case 0x8c: { int len = (int)U(1); result.Add(Encoding.UTF8.GetString(p, i, len)); i += len; break; }
                case 0x8d: { int len = (int)U(8); result.Add(Encoding.UTF8.GetString(p, i, len)); i += len; break; }
                case (byte)'T' or (byte)'B': { int len = (int)U(4); i += len; break; }
                case (byte)'U' or (byte)'C': { int len = (int)U(1); i += len; break; }
                case 0x8e or 0x96: { long len = U(8); i += (int)len; break; }
                case (byte)'J' or (byte)'j' or (byte)'r' or 0x84: i += 4; break;
                case (byte)'K' or (byte)'h' or (byte)'q' or 0x80 or 0x82: i += 1; break;
                case (byte)'M' or 0x83: i += 2; break;
                case (byte)'G' or 0x95: i += 8; break;
                case 0x8a: { int len = (int)U(1); i += len; break; }
                case 0x8b: { int len = (int)U(4); i += len; break; }
                case (byte)'c' or (byte)'i': ReadLine(); ReadLine(); break;
                case (byte)'V': { int s = ReadLine(); result.Add(Encoding.UTF8.GetString(p, s, i - s - 1)); break; }
                case (byte)'S' or (byte)'I' or (byte)'L' or (byte)'F' or (byte)'P' or (byte)'g' or (byte)'p': ReadLine(); break;
                case (byte)'.': return result;
                default: break;   // opcodes without arguments
            }
        }
        return result;
    }
}
