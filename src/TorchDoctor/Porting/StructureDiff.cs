using System.Globalization;
using System.Text;

namespace TorchDoctor.Porting;

/// <summary>What kind of structural difference.</summary>
public enum StructureDifferenceKind
{
    /// <summary>A module of the PyTorch model has no counterpart in the port.</summary>
    Missing,
    /// <summary>The port has a module the PyTorch model lacks.</summary>
    Extra,
    /// <summary>The counterpart has another type.</summary>
    Type,
    /// <summary>The counterpart has another value for one argument (<c>padding</c>, <c>eps</c>...).</summary>
    Argument,
    /// <summary>The same children, registered in another order.</summary>
    Order,
    /// <summary>The same module (same type and arguments, same children) under another name.</summary>
    Renamed,
    /// <summary>One parameter-free module of PyTorch's, used several times in its forward, is several modules in the port.</summary>
    Split,
}

/// <summary>One difference between PyTorch's printed model and the port.</summary>
/// <param name="Path">Where: the module's path in the PyTorch model (for extra modules, in the port); <c>(root)</c> for the root.</param>
/// <param name="Kind">What kind of difference.</param>
/// <param name="Expected">What PyTorch has (e.g. <c>padding=(1, 1)</c>), or null.</param>
/// <param name="Actual">What the port has (e.g. <c>padding=0</c>), or null.</param>
/// <param name="ChangesComputation">Whether the difference changes what the model computes.</param>
/// <param name="Explanation">Why it does or does not matter, in one sentence.</param>
public sealed record StructureDifference(string Path, StructureDifferenceKind Kind, string? Expected, string? Actual,
    bool ChangesComputation, string Explanation)
{
    /// <summary>The kind as written in JSON and text: <c>missing</c>, <c>extra</c>, <c>type</c>, <c>argument</c>, <c>order</c>, <c>renamed</c>, <c>split</c>.</summary>
    public string KindName => Kind.ToString().ToLowerInvariant();

    /// <inheritdoc />
    public override string ToString()
        => $"{Path}: {KindName} (expected {Expected ?? "-"}, actual {Actual ?? "-"}){(ChangesComputation ? " [changes the computation]" : " [same computation]")}: {Explanation}";
}

/// <summary>The result of comparing PyTorch's printed model with a port: the differences, and what could not be checked.</summary>
public sealed class StructureComparison
{
    internal StructureComparison(List<StructureDifference> differences, List<string> unverified, Dictionary<string, string> pathMap,
        PrintedModule expected, PrintedModule actual)
    {
        Differences = differences;
        Unverified = unverified;
        PathMap = pathMap;
        Expected = expected;
        Actual = actual;
    }

    /// <summary>Every difference, in the order of the PyTorch model's tree.</summary>
    public IReadOnlyList<StructureDifference> Differences { get; }
    /// <summary>Arguments PyTorch's text shows that TorchSharp does not expose (e.g. <c>lstm.dropout=0.1</c>), and unknown layers: not compared.</summary>
    public IReadOnlyList<string> Unverified { get; }
    /// <summary>For every module of the port matched to a PyTorch module: port path → PyTorch path (equal unless renamed or renumbered).</summary>
    public IReadOnlyDictionary<string, string> PathMap { get; }
    /// <summary>The PyTorch model's tree.</summary>
    public PrintedModule Expected { get; }
    /// <summary>The port's tree.</summary>
    public PrintedModule Actual { get; }
    /// <summary>True when some difference changes the computation.</summary>
    public bool ChangesComputation => Differences.Any(d => d.ChangesComputation);


}

/// <summary>
/// Compares PyTorch's printed model (the expected tree, parsed from <c>print(model)</c> text) with a port's
/// tree (<see cref="ModelPrinter.Describe"/>), by module path. Reports missing and extra modules, type
/// and argument differences and children in another order, and says for each whether it changes the
/// computation. Recognises the harmless differences real ports have: a renamed module, a parameter-free
/// activation split into one module per use, a Flatten module standing in for <c>torch.flatten</c> in
/// forward, a plain Sequential standing in for a Sequential subclass (<c>Conv2dNormActivation</c>), and
/// another registration order outside Sequential.
/// </summary>
public static class StructureDiff
{
    private static readonly HashSet<string> Reshapes = ["Flatten", "Unflatten", "Identity"];
    private static readonly HashSet<string> ParameterFree =
    [
        "ReLU", "ReLU6", "LeakyReLU", "ELU", "CELU", "SELU", "GELU", "SiLU", "Mish", "Sigmoid", "Tanh", "Hardtanh", "Hardswish",
        "Hardsigmoid", "Softmax", "LogSoftmax", "Softmin", "Softplus", "Softsign", "Tanhshrink", "Threshold", "GLU", "LogSigmoid",
        "Hardshrink", "Softshrink", "RReLU", "Dropout", "Dropout1d", "Dropout2d", "Dropout3d", "AlphaDropout", "FeatureAlphaDropout",
        "MaxPool1d", "MaxPool2d", "MaxPool3d", "AvgPool1d", "AvgPool2d", "AvgPool3d", "AdaptiveAvgPool1d", "AdaptiveAvgPool2d",
        "AdaptiveAvgPool3d", "AdaptiveMaxPool1d", "AdaptiveMaxPool2d", "AdaptiveMaxPool3d", "Flatten", "Unflatten", "Identity",
        "Upsample", "PixelShuffle", "PixelUnshuffle", "ChannelShuffle", "ZeroPad2d", "ReflectionPad1d", "ReflectionPad2d",
        "ReflectionPad3d", "ReplicationPad1d", "ReplicationPad2d", "ReplicationPad3d", "ConstantPad1d", "ConstantPad2d", "ConstantPad3d",
    ];

    private static readonly Dictionary<string, string> Equivalent = new(StringComparer.Ordinal)
    {
        ["NonDynamicallyQuantizableLinear"] = "Linear",
    };

    /// <summary>True for layer types without parameters or buffers (activations, pooling, dropout, reshapes, padding).</summary>
    public static bool IsParameterFree(string typeName) => ParameterFree.Contains(typeName);

    /// <summary>Compares <paramref name="expected"/> (PyTorch) with <paramref name="actual"/> (the port).</summary>
    public static StructureComparison Compare(PrintedModule expected, PrintedModule actual)
    {
        ArgumentNullException.ThrowIfNull(expected);
        ArgumentNullException.ThrowIfNull(actual);
        var ctx = new Ctx();
        ctx.CompareNode(expected, actual, isRoot: true);
        return new StructureComparison(ctx.Diffs, ctx.Unverified, ctx.PathMap, expected, actual);
    }

    private sealed class Ctx
    {
        public readonly List<StructureDifference> Diffs = [];
        public readonly List<string> Unverified = [];
        public readonly Dictionary<string, string> PathMap = new(StringComparer.Ordinal);

        private static string P(PrintedModule m) => m.DisplayPath;

        public void CompareNode(PrintedModule e, PrintedModule a, bool isRoot = false)
        {
            PathMap[a.Path] = e.Path;
            var te = Equivalent.GetValueOrDefault(e.TypeName, e.TypeName);
            var ta = Equivalent.GetValueOrDefault(a.TypeName, a.TypeName);
            bool sameType = te == ta;
            if (!sameType)
            {
                var (harmless, why) = ContainerTypeChange(e, a);
                if (!isRoot || !harmless)
                    Diffs.Add(new(P(e), StructureDifferenceKind.Type, e.TypeName, a.TypeName, !harmless, why));
            }
            else
            {
                CompareArguments(e, a);
            }
            CompareChildren(e, a);
        }

        private static (bool Harmless, string Why) ContainerTypeChange(PrintedModule e, PrintedModule a)
        {
            bool containers = e.Children.Count > 0 && a.Children.Count > 0;
            bool sameChildren = containers && e.Children.Count == a.Children.Count &&
                e.Children.Zip(a.Children).All(p => p.First.Name == p.Second.Name &&
                    Equivalent.GetValueOrDefault(p.First.TypeName, p.First.TypeName) == Equivalent.GetValueOrDefault(p.Second.TypeName, p.Second.TypeName));
            if (!containers)
                return (false, e.Children.Count == 0 && a.Children.Count == 0
                    ? "another layer type computes something else"
                    : "one side is a container, the other a single layer");
            if (!sameChildren)
                return (false, "another container type with other children");
            static bool Numbered(PrintedModule m) => m.Children.Select((c, i) => c.Name == i.ToString(CultureInfo.InvariantCulture)).All(x => x);
            if (a.TypeName == "Sequential" && Numbered(e))
                return (true, $"{e.TypeName} is a Sequential subclass in PyTorch; the port uses a plain Sequential with the same children in the same order");
            if (e.TypeName == "Sequential" && Numbered(a))
                return (true, $"the port's {a.TypeName} holds the same numbered children as PyTorch's Sequential");
            return (true, "another class name with the same children; the computation is the same if the two forward methods are (the numeric check settles it)");
        }

        private void CompareArguments(PrintedModule e, PrintedModule a)
        {
            if (!a.IsKnown)
            {
                if (e.Arguments.Length > 0) Unverified.Add($"{P(e)} ({e.TypeName}: {a.Note})");
                return;
            }
            if (e.Arguments == a.Arguments) return;
            var ea = ModuleArguments.Parse(e.TypeName, e.Arguments);
            var aa = ModuleArguments.Parse(e.TypeName, a.Arguments);
            var skip = ModuleArguments.Unverifiable(e.TypeName);
            foreach (var key in ea.Keys.Concat(aa.Keys.Where(k => !ea.ContainsKey(k))))
            {
                ea.TryGetValue(key, out var ev);
                aa.TryGetValue(key, out var av);
                if (skip.Contains(key))
                {
                    // The port's side shows only the default PyTorch would omit: list what PyTorch's text sets.
                    if (ev is not null && !IsDefault(e.TypeName, key, ev)) Unverified.Add($"{P(e)}.{key}={ev}");
                    continue;
                }
                if (ev is not null && av is not null && ModuleArguments.SameValue(ev, av)) continue;
                bool changes = key != "inplace";
                Diffs.Add(new(P(e), StructureDifferenceKind.Argument, ev is null ? $"{key} not set" : $"{key}={ev}",
                    av is null ? $"{key} not set" : $"{key}={av}", changes, ArgumentHint(e.TypeName, key)));
            }
        }

        private static bool IsDefault(string type, string key, string value)
            => ModuleArguments.Parse(type, "").TryGetValue(key, out var d) && ModuleArguments.SameValue(d, value);

        private static string ArgumentHint(string type, string key) => key switch
        {
            "padding" => "padding changes the output size and the values at the borders",
            "stride" => "stride changes the output size",
            "kernel_size" => "another kernel size is another layer (and another weight shape)",
            "dilation" => "dilation changes which inputs each output sees",
            "groups" => "groups changes which channels are connected (and the weight shape)",
            "bias" => "a bias term is added on one side only (and the state_dict keys differ)",
            "eps" => "the epsilon added to the variance changes every normalised value, most where the variance is small",
            "momentum" => "momentum changes how training updates the running statistics (not the eval output once they are loaded)",
            "affine" => "a learnable scale and shift on one side only (and the state_dict keys differ)",
            "track_running_stats" => "with running statistics, eval mode normalises by them; without, by the batch's own statistics",
            "ceil_mode" => "ceil_mode changes the output size when the window does not fit exactly",
            "count_include_pad" => "changes the average at the borders",
            "inplace" => "in-place or not, the values are the same",
            "negative_slope" or "alpha" or "beta" or "threshold" or "min_val" or "max_val" or "lambd" => $"another {key} changes the activation's values",
            "approximate" => "the tanh approximation of GELU gives slightly different values",
            "p" => "another dropout rate changes training (not the eval output)",
            "dim" or "start_dim" or "end_dim" => $"{key} changes which dimension the layer works on",
            "in_features" or "out_features" or "in_channels" or "out_channels" or "num_features" or "hidden_size" or "input_size" or "num_embeddings" or "embedding_dim"
                => "another size is another layer (and another weight shape)",
            "batch_first" => "batch_first changes how the input tensor is read: [batch, seq, feature] or [seq, batch, feature]",
            "bidirectional" or "num_layers" => "another recurrent network (and other state_dict keys)",
            "padding_mode" => "another padding mode changes the values at the borders",
            "output_size" => "another output size",
            "mode" or "scale_factor" or "size" => "another resampling",
            _ => $"another {key} for {type}",
        };

        private void CompareChildren(PrintedModule e, PrintedModule a)
        {
            if (e.Children.Count == 0 && a.Children.Count == 0) return;
            static bool AllNumbered(PrintedModule m) => m.Children.Count > 0 && m.Children.All(c => c.Name.All(char.IsDigit));
            if (AllNumbered(e) && AllNumbered(a)) AlignSequence(e, a);
            else MatchByName(e, a);
        }

        private void MatchByName(PrintedModule e, PrintedModule a)
        {
            var byName = a.Children.ToDictionary(c => c.Name, StringComparer.Ordinal);
            var missing = e.Children.Where(c => !byName.ContainsKey(c.Name)).ToList();
            var eNames = e.Children.Select(c => c.Name).ToHashSet(StringComparer.Ordinal);
            var extra = a.Children.Where(c => !eNames.Contains(c.Name)).ToList();
            var renamed = new Dictionary<PrintedModule, PrintedModule>(ReferenceEqualityComparer.Instance);
            var split = new Dictionary<PrintedModule, List<PrintedModule>>(ReferenceEqualityComparer.Instance);

            // A parameter-free module PyTorch reuses, registered once per use in the port.
            foreach (var m in missing.Where(m => m.Children.Count == 0 && IsParameterFree(m.TypeName)).ToList())
            {
                var same = extra.Where(x => x.Signature == m.Signature).ToList();
                if (same.Count >= 2)
                {
                    split[m] = same;
                    foreach (var x in same) extra.Remove(x);
                    missing.Remove(m);
                }
            }
            // Renamed: the same subtree first, then the same type (differences inside are reported below).
            foreach (var exact in new[] { true, false })
            {
                foreach (var m in missing.ToList())
                {
                    var x = extra.FirstOrDefault(x => exact
                        ? x.Signature == m.Signature
                        : x.TypeName == m.TypeName && (x.Children.Count == 0 && m.Children.Count == 0 ||
                            x.Children.Select(c => c.Name).SequenceEqual(m.Children.Select(c => c.Name))));
                    if (x is null) continue;
                    renamed[m] = x;
                    extra.Remove(x);
                    missing.Remove(m);
                }
            }

            // Registration order of the modules present under the same name on both sides.
            var common = e.Children.Where(c => byName.ContainsKey(c.Name)).Select(c => c.Name).ToList();
            var actualOrder = a.Children.Where(c => eNames.Contains(c.Name)).Select(c => c.Name).ToList();
            if (!common.SequenceEqual(actualOrder))
            {
                bool sequential = e.TypeName == "Sequential" || a.TypeName == "Sequential";
                Diffs.Add(new(P(e), StructureDifferenceKind.Order, string.Join(", ", common), string.Join(", ", actualOrder), sequential,
                    sequential
                        ? "a Sequential runs its children in registration order, so the computation differs"
                        : "forward decides the order the children run in, so the computation is the same; only the state_dict order differs"));
            }

            bool parentIsSequential = e.TypeName == "Sequential" || a.TypeName == "Sequential";
            foreach (var c in e.Children)
            {
                if (byName.TryGetValue(c.Name, out var twin)) { CompareNode(c, twin); continue; }
                if (renamed.TryGetValue(c, out var r))
                {
                    int ei = IndexOf(e, c), ai = IndexOf(a, r);
                    bool moved = e.Children.Take(ei).Count(x => byName.ContainsKey(x.Name)) != a.Children.Take(ai).Count(x => eNames.Contains(x.Name));
                    bool hasWeights = !(c.Children.Count == 0 && IsParameterFree(c.TypeName));
                    var why = hasWeights
                        ? $"the same {c.TypeName} under another name computes the same, but its state_dict keys differ ({c.Name}.* → {r.Name}.*): see the suggested mapping"
                        : $"a parameter-free {c.TypeName} under another name: no weights involved, the computation is the same";
                    if (moved) why += parentIsSequential ? "; it is registered at another position, and a Sequential runs in that order" : "; it is registered at another position, which forward ignores";
                    Diffs.Add(new(P(c), StructureDifferenceKind.Renamed, $"{c.Name} ({c.Header})", $"{r.Name} ({r.Header})", moved && parentIsSequential, why));
                    CompareNode(c, r);
                    continue;
                }
                if (split.TryGetValue(c, out var parts))
                {
                    Diffs.Add(new(P(c), StructureDifferenceKind.Split, $"{c.Name} ({c.Header})", string.Join(", ", parts.Select(x => x.Name)), parentIsSequential,
                        parentIsSequential
                            ? "inside a Sequential each module runs once where it is registered"
                            : $"PyTorch applies its one {c.TypeName} several times in forward; the port registers one per use. Parameter-free, so the computation is the same"));
                    foreach (var x in parts) PathMap[x.Path] = c.Path;
                    continue;
                }
                Diffs.Add(MissingOrExtra(c, StructureDifferenceKind.Missing, parentIsSequential, renumbered: false));
            }
            foreach (var x in extra)
                Diffs.Add(MissingOrExtra(x, StructureDifferenceKind.Extra, parentIsSequential, renumbered: false));
        }

        private static int IndexOf(PrintedModule parent, PrintedModule child)
        {
            for (int i = 0; i < parent.Children.Count; i++) if (ReferenceEquals(parent.Children[i], child)) return i;
            return -1;
        }

        /// <summary>Aligns numbered children (Sequential, ModuleList) by type, so one missing layer does not shift every later comparison.</summary>
        private void AlignSequence(PrintedModule e, PrintedModule a)
        {
            var ec = e.Children;
            var ac = a.Children;
            int n = ec.Count, m = ac.Count;
            var score = new int[n + 1, m + 1];
            int Pair(int i, int j) => ec[i].Signature == ac[j].Signature ? 3
                : Equivalent.GetValueOrDefault(ec[i].TypeName, ec[i].TypeName) == Equivalent.GetValueOrDefault(ac[j].TypeName, ac[j].TypeName) ? 2 : int.MinValue;
            for (int i = n - 1; i >= 0; i--)
                for (int j = m - 1; j >= 0; j--)
                {
                    int best = Math.Max(score[i + 1, j], score[i, j + 1]);
                    int p = Pair(i, j);
                    if (p != int.MinValue) best = Math.Max(best, p + score[i + 1, j + 1]);
                    score[i, j] = best;
                }
            // Walk the alignment; between anchors, equal numbers of unmatched items are substitutions.
            var steps = new List<(int E, int A)>();   // -1 = gap
            {
                int i = 0, j = 0;
                while (i < n || j < m)
                {
                    if (i < n && j < m && Pair(i, j) != int.MinValue && score[i, j] == Pair(i, j) + score[i + 1, j + 1]) { steps.Add((i, j)); i++; j++; }
                    else if (i < n && (j >= m || score[i, j] == score[i + 1, j])) { steps.Add((i, -1)); i++; }
                    else { steps.Add((-1, j)); j++; }
                }
            }
            bool shifted = steps.Any(s => s.E >= 0 && s.A >= 0 && ec[s.E].Name != ac[s.A].Name);
            // Numbered children run in their order: Sequential and its subclasses, or a ModuleList iterated in forward.
            const bool parentIsSequential = true;
            int k = 0;
            while (k < steps.Count)
            {
                if (steps[k].E >= 0 && steps[k].A >= 0) { CompareNode(ec[steps[k].E], ac[steps[k].A]); k++; continue; }
                int end = k;
                while (end < steps.Count && (steps[end].E < 0 || steps[end].A < 0)) end++;
                var gapE = steps.Skip(k).Take(end - k).Where(s => s.E >= 0).Select(s => ec[s.E]).ToList();
                var gapA = steps.Skip(k).Take(end - k).Where(s => s.A >= 0).Select(s => ac[s.A]).ToList();
                if (gapE.Count == gapA.Count)
                    for (int q = 0; q < gapE.Count; q++) CompareNode(gapE[q], gapA[q]);
                else
                {
                    foreach (var x in gapE) Diffs.Add(MissingOrExtra(x, StructureDifferenceKind.Missing, parentIsSequential, shifted));
                    foreach (var x in gapA) Diffs.Add(MissingOrExtra(x, StructureDifferenceKind.Extra, parentIsSequential, shifted));
                }
                k = end;
            }
        }

        private static StructureDifference MissingOrExtra(PrintedModule x, StructureDifferenceKind kind, bool inSequential, bool renumbered)
        {
            bool missing = kind == StructureDifferenceKind.Missing;
            string what = missing ? $"{x.Name} ({x.Header})" : $"{x.Name} ({x.Header})";
            bool changes;
            string why;
            if (Reshapes.Contains(x.TypeName) && !inSequential)
            {
                changes = false;
                why = x.TypeName == "Identity"
                    ? "Identity returns its input unchanged"
                    : missing
                        ? $"a parameter-free {x.TypeName}: the port most likely reshapes in forward (x.flatten(1)) at this point, so the computation is the same"
                        : $"a parameter-free {x.TypeName} module: PyTorch's forward most likely calls torch.{x.TypeName.ToLowerInvariant()}(...) at this point, so the computation is the same";
            }
            else if (x.TypeName.Contains("Dropout", StringComparison.Ordinal))
            {
                changes = true;
                why = "dropout changes training, not the eval-mode output";
            }
            else if (x.Children.Count == 0 && IsParameterFree(x.TypeName))
            {
                changes = true;
                why = inSequential
                    ? $"a Sequential runs every module it holds: the {x.TypeName} is applied on one side only"
                    : $"the {x.TypeName} is applied on one side only, unless the other side calls it as a function in forward (the numeric check settles it)";
            }
            else
            {
                changes = true;
                why = missing
                    ? "a layer with weights that the port does not have: its computation is missing and its state_dict keys are unexpected"
                    : "a layer with weights that PyTorch's model does not have: its state_dict keys will be missing from the checkpoint";
            }
            if (renumbered) why += "; later items are renumbered in the port, so their state_dict keys shift";
            return new(x.DisplayPath, kind, missing ? what : null, missing ? null : what, changes, why);
        }
    }
}
