using System.Globalization;
using System.Text;
using TorchDoctor.Inspection;
using TorchDoctor.Probes;
using static TorchSharp.torch;
using Module = TorchSharp.torch.nn.Module;

namespace TorchDoctor.Porting;

/// <summary>How one module's output compares with PyTorch's.</summary>
/// <param name="Path">The module's path in the port.</param>
/// <param name="ReferenceName">The PyTorch module path it was compared with (differs when renamed).</param>
/// <param name="Type">The port's module type.</param>
/// <param name="Expected">PyTorch's output shape.</param>
/// <param name="Actual">The port's output shape.</param>
/// <param name="MaxAbsError">max |actual − expected| (NaN when the shapes differ).</param>
/// <param name="MaxRelError">MaxAbsError / max |expected| (NaN when the shapes differ).</param>
/// <param name="Diverges">True when the shapes differ or MaxRelError exceeds the tolerance.</param>
public sealed record LayerComparison(string Path, string ReferenceName, string Type, long[] Expected, long[] Actual,
    double MaxAbsError, double MaxRelError, bool Diverges);

/// <summary>The numeric comparison of the port's output (eval mode) with PyTorch's on the same input.</summary>
public sealed class NumericComparison
{
    /// <summary>The reference file.</summary>
    public required string ReferencePath { get; init; }
    /// <summary>Shapes of the reference inputs.</summary>
    public required IReadOnlyList<long[]> InputShapes { get; init; }
    /// <summary>PyTorch's output shape (the first output).</summary>
    public required long[] ExpectedShape { get; init; }
    /// <summary>The port's output shape (the first output).</summary>
    public required long[] ActualShape { get; init; }
    /// <summary>max |actual − expected| over every output element (NaN when the shapes differ).</summary>
    public double MaxAbsError { get; init; }
    /// <summary>
    /// <see cref="MaxAbsError"/> divided by the largest |expected| value: the error relative to the output's scale
    /// (not element by element, which explodes near zero). NaN when the shapes differ.
    /// </summary>
    public double MaxRelError { get; init; }
    /// <summary>The tolerance on <see cref="MaxRelError"/>.</summary>
    public double Tolerance { get; init; }
    /// <summary>NaN/Inf elements in the reference's expected outputs (a reference holding them proves nothing).</summary>
    public long NonFiniteExpected { get; init; }
    /// <summary>NaN/Inf elements in the port's outputs.</summary>
    public long NonFiniteActual { get; init; }
    /// <summary>NaN/Inf elements in the reference inputs.</summary>
    public long NonFiniteInput { get; init; }
    /// <summary>
    /// True when the shapes are equal, neither output holds NaN/Inf and <see cref="MaxRelError"/> ≤ <see cref="Tolerance"/>.
    /// NaN or Inf anywhere in either output is a mismatch: NaN compares with nothing.
    /// </summary>
    public bool Matches => ExpectedShape.SequenceEqual(ActualShape) && NonFiniteExpected == 0 && NonFiniteActual == 0 && MaxRelError <= Tolerance;

    /// <summary>The NaN/Inf counts in one sentence, or null when every value is finite.</summary>
    public string? NonFiniteText()
    {
        if (NonFiniteExpected == 0 && NonFiniteActual == 0 && NonFiniteInput == 0) return null;
        var parts = new List<string>();
        if (NonFiniteInput > 0) parts.Add($"the reference input holds {NonFiniteInput:N0} NaN/Inf value(s)");
        if (NonFiniteExpected > 0) parts.Add($"PyTorch's output holds {NonFiniteExpected:N0} NaN/Inf value(s)");
        if (NonFiniteActual > 0) parts.Add($"the port's output holds {NonFiniteActual:N0} NaN/Inf value(s)");
        return string.Join("; ", parts) + ": NaN and Inf compare equal to nothing, so the outputs do not match. " +
            (NonFiniteExpected > 0 || NonFiniteInput > 0 ? "Save the reference again from a finite input and a model that produces finite outputs." : "Find where the port first produces NaN/Inf (--per-layer).");
    }
    /// <summary>Per-module comparisons in the order the port's modules finished (empty without <c>--per-layer</c> data).</summary>
    public IReadOnlyList<LayerComparison> Layers { get; init; } = [];
    /// <summary>The first module (in execution order) whose output diverges, or null.</summary>
    public LayerComparison? FirstDivergent => Layers.FirstOrDefault(l => l.Diverges);
    /// <summary>What usually causes a divergence at <see cref="FirstDivergent"/>'s kind of layer, or null.</summary>
    public string? Hint { get; init; }
    /// <summary>Modules of the port that ran but have no PyTorch output in the reference (e.g. a Flatten module).</summary>
    public IReadOnlyList<string> NotInReference { get; init; } = [];
    /// <summary>Whether the reference file held intermediate outputs.</summary>
    public bool HadLayers { get; init; }
    /// <summary>Something the user should know (e.g. the model's own weights were used), or null.</summary>
    public string? Note { get; init; }


    internal static string Num(double v) => double.IsNaN(v) ? "n/a" : v == 0 ? "0" : v.ToString(Math.Abs(v) < 1e-3 || Math.Abs(v) >= 1e4 ? "0.00e+00" : "0.######", CultureInfo.InvariantCulture);
}

/// <summary>Runs the port on a reference input and compares its outputs with PyTorch's, per layer when the reference holds them.</summary>
public static class NumericComparer
{
    /// <summary>
    /// Runs <paramref name="model"/> in eval mode (without gradients) on the reference input and compares its output with
    /// the reference output. With <paramref name="perLayer"/> and intermediate outputs in the reference, also compares
    /// every module's output (matched by path, through <paramref name="pathMap"/> port path → PyTorch path when given)
    /// and names the first one that diverges. The model's train/eval mode is restored afterwards. Throws
    /// <see cref="ModelFileException"/> when the model cannot run on the reference input (wrong shape or layout).
    /// </summary>
    public static NumericComparison Compare(Module model, ReferenceData reference, double tolerance = 1e-5, bool perLayer = false,
        IReadOnlyDictionary<string, string>? pathMap = null, string? note = null)
    {
        ArgumentNullException.ThrowIfNull(model);
        ArgumentNullException.ThrowIfNull(reference);
        var tree = ModuleTree.Build(model);
        bool wasTraining = model.training;
        var recorder = new CallRecorder(tree);
        var capture = new OutputCapture(tree);
        bool layers = perLayer && reference.Layers.Count > 0;
        object? output;
        model.eval();
        try
        {
            using var hooks = ModuleHooks.Attach(tree.Nodes.Select(n => n.Module), layers ? new Both(recorder, capture) : recorder);
            using var _ = no_grad();
            try
            {
                output = ModelInvoker.Call(model, reference.Inputs.Cast<object?>().ToList());
            }
            catch (Exception e) when (e is not Runtime.TorchRuntimeUnavailableException)
            {
                var failure = ShapeExplainer.Explain(e, recorder);
                var shapes = string.Join(", ", reference.Inputs.Select(t => StateDictComparison.Shape(t.shape) + " " + t.dtype));
                throw new ModelFileException($"{reference.Path}: the model cannot run on the reference input {shapes}: it failed in {failure.Module} ({failure.ModuleType}): " +
                    $"{failure.Rule} Fix: {failure.Fix} Was the reference made for this model, with the same input layout?", e);
            }
        }
        finally
        {
            model.train(wasTraining);
        }
        try
        {
            var outs = TensorInfo.Tensors(output).ToList();
            if (outs.Count == 0)
                throw new ModelFileException($"{reference.Path}: the model returned no tensor to compare with the reference output.");
            double maxAbs = 0, maxRel = 0;
            long nfExpected = reference.Outputs.Sum(NonFinite), nfActual = outs.Sum(NonFinite), nfInput = reference.Inputs.Sum(NonFinite);
            long[] expShape = reference.Outputs[0].shape, actShape = outs[0].shape;
            for (int i = 0; i < Math.Min(outs.Count, reference.Outputs.Count); i++)
            {
                var (a, r, same) = Errors(outs[i], reference.Outputs[i]);
                if (!same) { maxAbs = maxRel = double.NaN; if (i > 0) { expShape = reference.Outputs[i].shape; actShape = outs[i].shape; } break; }
                if (double.IsNaN(a)) { maxAbs = maxRel = double.NaN; continue; }
                if (!double.IsNaN(maxAbs)) { maxAbs = Math.Max(maxAbs, a); maxRel = Math.Max(maxRel, r); }
            }
            var compared = new List<LayerComparison>();
            var notInRef = new List<string>();
            if (layers)
            {
                foreach (var (node, t) in capture.Outputs)
                {
                    var refName = pathMap is not null && pathMap.TryGetValue(node.Path, out var mapped) ? mapped : node.Path;
                    if (!reference.Layers.TryGetValue(refName, out var expected)) { notInRef.Add(node.Path); continue; }
                    var (a, r, same) = Errors(t, expected);
                    // NaN errors (NaN/Inf in either output) diverge: !(NaN <= tolerance).
                    compared.Add(new(node.Path, refName, node.TypeName, expected.shape, t.shape, a, r, !same || !(r <= tolerance)));
                }
            }
            var first = compared.FirstOrDefault(c => c.Diverges);
            return new NumericComparison
            {
                ReferencePath = reference.Path,
                InputShapes = reference.Inputs.Select(t => t.shape).ToList(),
                ExpectedShape = expShape,
                ActualShape = actShape,
                MaxAbsError = maxAbs,
                MaxRelError = maxRel,
                NonFiniteExpected = nfExpected,
                NonFiniteActual = nfActual,
                NonFiniteInput = nfInput,
                Tolerance = tolerance,
                Layers = compared,
                NotInReference = notInRef,
                HadLayers = layers,
                Hint = first is null ? null : HintFor(first),
                Note = note ?? (perLayer && reference.Layers.Count == 0
                    ? "the reference holds no intermediate outputs (\"layers\"), so --per-layer cannot name a layer; see docs/porting.md for how to save them."
                    : null),
            };
        }
        finally
        {
            capture.Dispose();
            foreach (var t in TensorInfo.Tensors(output)) t.Dispose();
        }
    }

    /// <summary>Number of NaN/Inf elements of <paramref name="t"/> (0 for integer tensors).</summary>
    internal static long NonFinite(Tensor t)
    {
        if (!t.is_floating_point() || t.numel() == 0) return 0;
        using var finite = t.detach().isfinite();
        using var bad = finite.logical_not();
        using var n = bad.sum();
        return n.item<long>();
    }

    /// <summary>(max abs error, error relative to max |expected|, shapes equal); NaN errors when either holds NaN/Inf.</summary>
    internal static (double Abs, double Rel, bool SameShape) Errors(Tensor actual, Tensor expected)
    {
        if (!actual.shape.SequenceEqual(expected.shape)) return (double.NaN, double.NaN, false);
        if (actual.numel() == 0) return (0, 0, true);
        if (NonFinite(actual) > 0 || NonFinite(expected) > 0) return (double.NaN, double.NaN, true);
        using var a = actual.detach().to(ScalarType.Float64);
        using var e = expected.detach().to(ScalarType.Float64);
        using var diff = (a - e).abs_();
        using var dmax = diff.max();
        using var eabs = e.abs();
        using var emax = eabs.max();
        double abs = dmax.item<double>();
        double scale = emax.item<double>();
        double rel = scale > 0 ? abs / scale : abs > 0 ? double.PositiveInfinity : 0;
        return (abs, rel, true);
    }

    private static string HintFor(LayerComparison d)
    {
        bool shape = !d.Expected.SequenceEqual(d.Actual);
        var t = d.Type;
        if (t.StartsWith("Conv", StringComparison.Ordinal))
            return shape ? "a wrong padding, stride or dilation (or an NHWC input where NCHW is expected)"
                         : "wrong weights (not loaded, transposed, or mapped to the wrong layer), padding_mode, groups or bias";
        if (t.Contains("Pool", StringComparison.Ordinal))
            return shape ? "ceil_mode, padding, stride or kernel_size" : "max vs average pooling, count_include_pad, or padding";
        if (t.Contains("Norm", StringComparison.Ordinal))
            return "eps, affine, running statistics not loaded (eval mode uses running_mean/running_var), or momentum=None vs 0.1 when statistics were re-estimated";
        if (t is "Linear" or "Bilinear")
            return shape ? "in_features/out_features, or a flatten that keeps other dimensions" : "weights not loaded or transposed, or the flatten before it ordering elements differently (NHWC vs NCHW)";
        if (t is "Flatten" or "Unflatten")
            return "start_dim/end_dim, or the tensor layout (NHWC vs NCHW) before it";
        if (StructureDiff.IsParameterFree(t))
            return "the activation's type or arguments (negative_slope, approximate, dim), or an activation in the wrong place";
        return shape ? "the output shape differs: check the layer's arguments" : "the layer's arguments and weights; compare its children with --per-layer data for them";
    }

    private sealed class Both(IForwardObserver a, IForwardObserver b) : IForwardObserver
    {
        public void OnEnter(Module module, object?[] inputs) { a.OnEnter(module, inputs); b.OnEnter(module, inputs); }
        public object? OnExit(Module module, object?[] inputs, object? output)
        {
            var first = a.OnExit(module, inputs, output);
            return b.OnExit(module, inputs, first ?? output) ?? first;
        }
    }

    /// <summary>Copies each module's first output (a clone: an in-place activation later would overwrite it).</summary>
    private sealed class OutputCapture(ModuleTree tree) : IForwardObserver, IDisposable
    {
        private readonly HashSet<ModuleNode> _seen = new(ReferenceEqualityComparer.Instance);
        public List<(ModuleNode Node, Tensor Output)> Outputs { get; } = [];

        public void OnEnter(Module module, object?[] inputs) { }

        public object? OnExit(Module module, object?[] inputs, object? output)
        {
            var node = tree.Find(module);
            if (node is null || node.Depth == 0 || !_seen.Add(node)) return null;
            if (output is Tensor t) Outputs.Add((node, t.detach().clone().DetachFromDisposeScope()));
            return null;
        }

        public void Dispose()
        {
            foreach (var (_, t) in Outputs) t.Dispose();
        }
    }
}
