using TorchDoctor.Probes;
using System.Globalization;
using System.Text;
using TorchDoctor.Inspection;
using static TorchSharp.torch;
using Module = TorchSharp.torch.nn.Module;

namespace TorchDoctor.Porting;

/// <summary>A key whose tensor has another shape in the checkpoint (<see cref="Expected"/>) than in the model (<see cref="Actual"/>).</summary>
public sealed record ShapeMismatch(string Key, long[] Expected, long[] Actual);

/// <summary>A key whose tensor has another dtype in the checkpoint than in the model (PyTorch's load_state_dict converts silently).</summary>
public sealed record DTypeMismatch(string Key, ScalarType Expected, ScalarType Actual);

/// <summary>One rename: keys equal to <see cref="From"/> or starting with <c>From + "."</c> become <see cref="To"/> + the rest (dotted module prefixes; empty means "no prefix").</summary>
public sealed record KeyRename(string From, string To)
{
    /// <summary>Applies the rename to <paramref name="key"/>, or returns null when it does not apply.</summary>
    public string? Apply(string key)
    {
        if (From.Length == 0) return To.Length == 0 ? key : To + "." + key;
        if (key != From && !key.StartsWith(From + ".", StringComparison.Ordinal)) return null;
        var rest = key[From.Length..];
        return To.Length == 0 ? rest.TrimStart('.') : To + rest;
    }
}

/// <summary>The suggested renaming of checkpoint keys to the model's keys, with the C# code that applies it.</summary>
public sealed class KeyMapping
{
    internal KeyMapping(List<KeyRename> rules, List<KeyRename> pairs)
    {
        Rules = rules;
        Pairs = pairs;
    }

    /// <summary>Prefix renames, most specific first (e.g. <c>block2 → stage2</c>).</summary>
    public IReadOnlyList<KeyRename> Rules { get; }
    /// <summary>Every checkpoint key the rules rename, with its new name.</summary>
    public IReadOnlyList<KeyRename> Pairs { get; }

    /// <summary>The key after the first rule that applies (or unchanged).</summary>
    public string Apply(string key)
    {
        foreach (var r in Rules)
            if (r.Apply(key) is { } k) return k;
        return key;
    }

    /// <summary>C# that loads <paramref name="checkpointPath"/> into <c>model</c> with the renames (TorchSharp + TorchSharp.PyBridge).</summary>
    public string Code(string checkpointPath, bool safetensors)
    {
        var sb = new StringBuilder();
        sb.AppendLine("// using System.Collections; using TorchSharp; using TorchSharp.PyBridge; using static TorchSharp.torch;");
        sb.AppendLine("var renames = new (string From, string To)[]");
        sb.AppendLine("{");
        foreach (var r in Rules) sb.AppendLine($"    ({Quote(r.From)}, {Quote(r.To)}),");
        sb.AppendLine("};");
        sb.AppendLine("static string Rename(string key, (string From, string To)[] renames)");
        sb.AppendLine("{");
        sb.AppendLine("    foreach (var (from, to) in renames)");
        sb.AppendLine("    {");
        sb.AppendLine("        if (from.Length == 0) return to + \".\" + key;");
        sb.AppendLine("        if (key == from || key.StartsWith(from + \".\")) return to.Length == 0 ? key[(from.Length + 1)..] : to + key[from.Length..];");
        sb.AppendLine("    }");
        sb.AppendLine("    return key;");
        sb.AppendLine("}");
        sb.AppendLine("var state = new Dictionary<string, Tensor>();");
        if (safetensors)
        {
            sb.AppendLine($"foreach (var (key, tensor) in Safetensors.LoadStateDict({Quote(checkpointPath)}))");
            sb.AppendLine("    state[Rename(key, renames)] = tensor;");
        }
        else
        {
            sb.AppendLine($"foreach (DictionaryEntry e in PyTorchUnpickler.UnpickleStateDict({Quote(checkpointPath)}))");
            sb.AppendLine("    state[Rename((string)e.Key, renames)] = (Tensor)e.Value!;");
        }
        sb.AppendLine("var (missing, unexpected) = model.load_state_dict(state, strict: false);");
        return sb.ToString();
    }

    private static string Quote(string s) => "\"" + s.Replace("\\", "\\\\").Replace("\"", "\\\"") + "\"";
}

/// <summary>A model tensor as PyTorch's state_dict lists it.</summary>
/// <param name="Key">Full key, e.g. <c>layer1.0.bn1.running_mean</c>.</param>
/// <param name="Tensor">The live tensor (parameter or buffer).</param>
/// <param name="IsBuffer">True for buffers (BatchNorm running statistics, <c>num_batches_tracked</c>).</param>
public sealed record ModelTensor(string Key, Tensor Tensor, bool IsBuffer);

/// <summary>
/// The comparison of a PyTorch checkpoint with a model's <c>state_dict</c>, following PyTorch's
/// <c>load_state_dict</c> rules: missing keys (in the model, not in the checkpoint), unexpected keys (the reverse),
/// shape mismatches (an error in PyTorch), dtype mismatches (PyTorch converts silently), and a missing
/// <c>num_batches_tracked</c> tolerated as PyTorch's BatchNorm tolerates it.
/// </summary>
public sealed class StateDictComparison
{
    /// <summary>The checkpoint file.</summary>
    public required string CheckpointPath { get; init; }
    /// <summary><c>torch.save</c> or <c>safetensors</c>.</summary>
    public required string Format { get; init; }
    /// <summary>What the reader had to do (e.g. take <c>checkpoint["model"]</c>), or null.</summary>
    public string? ReaderNote { get; init; }
    /// <summary>Number of tensors in the checkpoint.</summary>
    public int CheckpointCount { get; init; }
    /// <summary>Number of tensors in the model's state_dict.</summary>
    public int ModelCount { get; init; }
    /// <summary>Model keys the checkpoint lacks (PyTorch's <c>missing_keys</c>), tolerated ones excluded.</summary>
    public required IReadOnlyList<string> MissingKeys { get; init; }
    /// <summary>Checkpoint keys the model lacks (PyTorch's <c>unexpected_keys</c>).</summary>
    public required IReadOnlyList<string> UnexpectedKeys { get; init; }
    /// <summary>Missing keys PyTorch tolerates: <c>num_batches_tracked</c> of BatchNorm layers (older checkpoints lack it).</summary>
    public required IReadOnlyList<string> ToleratedMissingKeys { get; init; }
    /// <summary>Same key, another shape (checkpoint shape expected, model shape actual).</summary>
    public required IReadOnlyList<ShapeMismatch> ShapeMismatches { get; init; }
    /// <summary>Same key and shape, another dtype.</summary>
    public required IReadOnlyList<DTypeMismatch> DTypeMismatches { get; init; }
    /// <summary>The likely renaming of unexpected keys to missing ones (same shapes in the same order), or null.</summary>
    public KeyMapping? SuggestedMapping { get; init; }
    /// <summary>Missing keys that the suggested mapping does not cover.</summary>
    public IReadOnlyList<string> MissingAfterMapping { get; init; } = [];
    /// <summary>Unexpected keys that the suggested mapping does not cover.</summary>
    public IReadOnlyList<string> UnexpectedAfterMapping { get; init; } = [];
    /// <summary>Number of model tensors loaded from the checkpoint (0 when nothing was loaded).</summary>
    public int LoadedCount { get; init; }
    /// <summary>True when every model tensor was loaded and nothing in the checkpoint was left over (a strict load).</summary>
    public bool LoadedStrict { get; init; }
    /// <summary>Checkpoint tensors holding NaN or Inf: (key, number of non-finite elements), in checkpoint order.</summary>
    public IReadOnlyList<KeyValuePair<string, long>> NonFinite { get; init; } = [];
    /// <summary>True when the keys match as they are: nothing missing, unexpected or of another shape.</summary>
    public bool Clean => MissingKeys.Count == 0 && UnexpectedKeys.Count == 0 && ShapeMismatches.Count == 0;



    internal static string Shape(long[] s) => "[" + string.Join(", ", s) + "]";
}

/// <summary>Compares a checkpoint with a model's state_dict, proposes a key mapping, and loads the weights.</summary>
public static class StateDictComparer
{
    /// <summary>The model's state_dict tensors in PyTorch's order: per module (pre-order), its parameters then its buffers.</summary>
    public static IReadOnlyList<ModelTensor> ModelTensors(Module model)
    {
        ArgumentNullException.ThrowIfNull(model);
        var persistent = model.state_dict().Keys.ToHashSet(StringComparer.Ordinal);
        var tree = ModuleTree.Build(model);
        var result = new List<ModelTensor>();
        foreach (var n in tree.Nodes)
        {
            string Key(string name) => n.Path.Length == 0 ? name : n.Path + "." + name;
            foreach (var (name, p) in n.DirectParameters) if (persistent.Contains(Key(name))) result.Add(new(Key(name), p, false));
            foreach (var (name, b) in n.DirectBuffers) if (persistent.Contains(Key(name))) result.Add(new(Key(name), b, true));
        }
        // Anything state_dict lists that the tree did not (e.g. a TorchScript module's own attributes), at the end.
        var seen = result.Select(r => r.Key).ToHashSet(StringComparer.Ordinal);
        foreach (var (k, t) in model.state_dict()) if (!seen.Contains(k)) result.Add(new(k, t, false));
        return result;
    }

    /// <summary>
    /// Compares <paramref name="checkpoint"/> with <paramref name="model"/>'s state_dict. When <paramref name="load"/>,
    /// copies every checkpoint tensor whose key (after the suggested mapping, if there is one) and shape match into the model.
    /// </summary>
    public static StateDictComparison Compare(Module model, TensorFile checkpoint, bool load = true)
    {
        ArgumentNullException.ThrowIfNull(model);
        ArgumentNullException.ThrowIfNull(checkpoint);
        var modelTensors = ModelTensors(model);
        var byKey = modelTensors.ToDictionary(t => t.Key, StringComparer.Ordinal);
        var ckpt = checkpoint.Tensors.ToDictionary(kv => kv.Key, kv => kv.Value, StringComparer.Ordinal);

        var missingAll = modelTensors.Where(t => !ckpt.ContainsKey(t.Key)).Select(t => t.Key).ToList();
        var tolerated = missingAll.Where(k => k == "num_batches_tracked" || k.EndsWith(".num_batches_tracked", StringComparison.Ordinal)).ToList();
        var unexpected = checkpoint.Tensors.Where(kv => !byKey.ContainsKey(kv.Key)).Select(kv => kv.Key).ToList();
        var shapes = new List<ShapeMismatch>();
        var dtypes = new List<DTypeMismatch>();
        var nonFinite = new List<KeyValuePair<string, long>>();
        foreach (var (k, v) in checkpoint.Tensors)
            if (NumericComparer.NonFinite(v) is var n and > 0) nonFinite.Add(new(k, n));
        foreach (var t in modelTensors)
        {
            if (!ckpt.TryGetValue(t.Key, out var c)) continue;
            if (!c.shape.SequenceEqual(t.Tensor.shape)) shapes.Add(new(t.Key, c.shape, t.Tensor.shape));
            else if (c.dtype != t.Tensor.dtype) dtypes.Add(new(t.Key, c.dtype, t.Tensor.dtype));
        }

        KeyMapping? mapping = null;
        List<string> missingAfter = [], unexpectedAfter = [];
        if (missingAll.Count > 0 && unexpected.Count > 0)
        {
            mapping = SuggestMapping(
                unexpected.Select(k => (k, ckpt[k].shape)).ToList(),
                missingAll.Select(k => (k, byKey[k].Tensor.shape)).ToList(),
                checkpoint.OrderKnown, byKey.Keys.ToHashSet(StringComparer.Ordinal), ckpt.Keys.ToList());
            if (mapping is not null)
            {
                var mappedKeys = ckpt.Keys.Select(mapping.Apply).ToHashSet(StringComparer.Ordinal);
                missingAfter = missingAll.Where(k => !mappedKeys.Contains(k) && !tolerated.Contains(k)).ToList();
                unexpectedAfter = ckpt.Keys.Where(k => !byKey.ContainsKey(mapping.Apply(k))).ToList();
            }
        }

        int loaded = 0;
        bool strict = false;
        if (load)
        {
            var source = new Dictionary<string, Tensor>(StringComparer.Ordinal);
            foreach (var (k, v) in checkpoint.Tensors) source.TryAdd(mapping?.Apply(k) ?? k, v);
            using (no_grad())
            {
                foreach (var t in modelTensors)
                {
                    if (!source.TryGetValue(t.Key, out var src) || !src.shape.SequenceEqual(t.Tensor.shape)) continue;
                    t.Tensor.copy_(src);
                    loaded++;
                }
            }
            int needed = modelTensors.Count(t => !tolerated.Contains(t.Key) || source.ContainsKey(t.Key));
            strict = loaded == needed && source.Keys.All(byKey.ContainsKey);
        }

        return new StateDictComparison
        {
            CheckpointPath = checkpoint.Path,
            Format = checkpoint.Format,
            ReaderNote = checkpoint.Note,
            CheckpointCount = checkpoint.Tensors.Count,
            ModelCount = modelTensors.Count,
            MissingKeys = missingAll.Where(k => !tolerated.Contains(k)).ToList(),
            UnexpectedKeys = unexpected,
            ToleratedMissingKeys = tolerated,
            ShapeMismatches = shapes,
            DTypeMismatches = dtypes,
            SuggestedMapping = mapping,
            MissingAfterMapping = missingAfter,
            UnexpectedAfterMapping = unexpectedAfter,
            LoadedCount = loaded,
            LoadedStrict = strict,
            NonFinite = nonFinite,
        };
    }

    /// <summary>
    /// Pairs unexpected checkpoint keys with missing model keys of the same shape: module by module first
    /// (the same parameter names and shapes), in order when the file keeps the state_dict's order, else by
    /// name similarity; then key by key in order. Each pair gives a prefix rename (the differing leading part of
    /// the dotted path); renames that would also move keys that already match are narrowed to the module.
    /// </summary>
    internal static KeyMapping? SuggestMapping(List<(string Key, long[] Shape)> unexpected, List<(string Key, long[] Shape)> missing,
        bool ordered, HashSet<string> modelKeys, List<string> checkpointKeys)
    {
        var pairs = new List<(string From, string To)>();
        static string Prefix(string k) => k.Contains('.') ? k[..k.LastIndexOf('.')] : "";
        static string Leaf(string k) => k.Contains('.') ? k[(k.LastIndexOf('.') + 1)..] : k;
        static string Sig(IEnumerable<(string Key, long[] Shape)> g) => string.Join(";", g.Select(x => Leaf(x.Key) + ":" + string.Join("x", x.Shape)).OrderBy(s => s, StringComparer.Ordinal));

        var uGroups = unexpected.GroupBy(x => Prefix(x.Key)).Select(g => (Prefix: g.Key, Items: g.ToList(), Sig: Sig(g))).ToList();
        var mGroups = missing.GroupBy(x => Prefix(x.Key)).Select(g => (Prefix: g.Key, Items: g.ToList(), Sig: Sig(g))).ToList();
        var usedU = new HashSet<string>(StringComparer.Ordinal);
        var usedM = new HashSet<string>(StringComparer.Ordinal);
        foreach (var mg in mGroups)
        {
            var candidates = uGroups.Where(ug => !usedU.Contains(ug.Prefix) && ug.Sig == mg.Sig).ToList();
            if (candidates.Count == 0) continue;
            var ug = ordered ? candidates[0] : candidates.OrderByDescending(c => Similarity(c.Prefix, mg.Prefix)).First();
            usedU.Add(ug.Prefix);
            usedM.Add(mg.Prefix);
            foreach (var m in mg.Items)
            {
                var u = ug.Items.First(x => Leaf(x.Key) == Leaf(m.Key));
                pairs.Add((u.Key, m.Key));
            }
        }
        // Key by key for what is left: same shapes in the same order.
        var restU = unexpected.Where(x => !usedU.Contains(Prefix(x.Key))).ToList();
        var restM = missing.Where(x => !usedM.Contains(Prefix(x.Key))).ToList();
        if (ordered && restU.Count > 0 && restM.Count > 0)
        {
            int n = restU.Count, m = restM.Count;
            var score = new int[n + 1, m + 1];
            int Pair(int i, int j) => restU[i].Shape.SequenceEqual(restM[j].Shape) ? 10 + (Leaf(restU[i].Key) == Leaf(restM[j].Key) ? 5 : 0) : int.MinValue;
            for (int i = n - 1; i >= 0; i--)
                for (int j = m - 1; j >= 0; j--)
                {
                    int best = Math.Max(score[i + 1, j], score[i, j + 1]);
                    var p = Pair(i, j);
                    if (p != int.MinValue) best = Math.Max(best, p + score[i + 1, j + 1]);
                    score[i, j] = best;
                }
            int a = 0, b = 0;
            while (a < n && b < m)
            {
                var p = Pair(a, b);
                if (p != int.MinValue && score[a, b] == p + score[a + 1, b + 1]) { pairs.Add((restU[a].Key, restM[b].Key)); a++; b++; }
                else if (score[a, b] == score[a + 1, b]) a++;
                else b++;
            }
        }
        if (pairs.Count == 0) return null;

        // One rename per pair: strip the common trailing path segments; keep renames that move nothing that already matches.
        var matched = checkpointKeys.Where(modelKeys.Contains).ToHashSet(StringComparer.Ordinal);
        var rules = new List<KeyRename>();
        foreach (var (from, to) in pairs)
        {
            var f = from.Split('.');
            var t = to.Split('.');
            int common = 0;
            while (common < Math.Min(f.Length, t.Length) && f[^(common + 1)] == t[^(common + 1)]) common++;
            KeyRename? chosen = null;
            // Widest first: the differing prefix, then longer prefixes down to the whole key.
            for (int c = common; c >= 0 && chosen is null; c--)
            {
                var rule = new KeyRename(string.Join(".", f.Take(f.Length - c)), string.Join(".", t.Take(t.Length - c)));
                bool safe = (rule.From.Length > 0 || rule.To.Length > 0) &&
                    checkpointKeys.All(k => rule.Apply(k) is not { } r || !matched.Contains(k) && !matched.Contains(r));
                bool consistent = pairs.All(p => rule.Apply(p.From) is not { } r || r == p.To);
                if (safe && consistent) chosen = rule;
            }
            chosen ??= new KeyRename(from, to);
            if (!rules.Contains(chosen)) rules.Add(chosen);
        }
        rules = rules.OrderByDescending(r => r.From.Length).ThenBy(r => r.From, StringComparer.Ordinal).ToList();
        var mapping = new KeyMapping(rules, []);
        var applied = checkpointKeys.Select(k => new KeyRename(k, mapping.Apply(k))).Where(r => r.From != r.To).ToList();
        return new KeyMapping(rules, applied);
    }

    private static int Similarity(string a, string b)
    {
        var x = a.Split('.');
        var y = b.Split('.');
        int s = 0;
        while (s < Math.Min(x.Length, y.Length) && x[^(s + 1)] == y[^(s + 1)]) s++;
        int p = 0;
        while (p < Math.Min(x.Length, y.Length) && x[p] == y[p]) p++;
        return 2 * s + p;
    }

    internal static string Count(int n, string what) => n.ToString(CultureInfo.InvariantCulture) + " " + what + (n == 1 ? "" : "s");
}
