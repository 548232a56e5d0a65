using TorchDoctor.Observations;
using TorchSharp;
using static TorchSharp.torch;
using Module = TorchSharp.torch.nn.Module;

namespace TorchDoctor.Probes;

/// <summary>
/// The forward-hook side of the loop checks: which forward passes ran inside a training step and which between steps
/// (evaluations), the train/eval mode of modules that behave differently in the two (Dropout, BatchNorm), grad mode and
/// the bytes an evaluation's graph holds, the softmax/sigmoid outputs a loss call may receive, and, at the model's
/// output, an identity autograd node whose backward runs before any parameter gradient is accumulated: it reads whether
/// gradients from the previous step are still there (a forgotten <c>zero_grad()</c>). Values never change.
/// </summary>
internal sealed class LoopProbe : IForwardObserver
{
    private static readonly HashSet<string> Squashers = ["Softmax", "Sigmoid", "Softmax2d", "Softmin"];
    private readonly ModuleTree _tree;
    private readonly Module _root;
    private readonly List<Module> _modeModules;
    private readonly List<(object Identity, string Path, string Type)> _squashed = [];
    private readonly List<(object Identity, string Path, string Type)> _outputs = [];
    private const int MaxOutputs = 4096;
    private int _depth;
    private long _bytes;
    private bool _gradInEval;
    private long? _nativeBefore;
    private long _createdOutside;
    private long _probeBytes;

    public LoopProbe(ModuleTree tree)
    {
        _tree = tree;
        _root = tree.Root.Module;
        _modeModules = tree.Nodes.Where(n => IsModeSensitive(n.TypeName)).Select(n => n.Module).ToList();
    }

    /// <summary>True for module types whose forward differs between train() and eval().</summary>
    public static bool IsModeSensitive(string type) => type.StartsWith("Dropout", StringComparison.Ordinal) || type.StartsWith("BatchNorm", StringComparison.Ordinal) ||
        type is "AlphaDropout" or "FeatureAlphaDropout" or "SyncBatchNorm";

    /// <summary>Between BeginStep and AfterBackward.</summary>
    public bool InStep { get; set; }
    /// <summary>A training step has started at least once (forwards before the first step are not evaluations between steps).</summary>
    public bool Started { get; set; }
    /// <summary>Set while TorchDoctor itself runs the model (batch-mixing check): nothing is recorded.</summary>
    public bool Internal { get; set; }
    /// <summary>The last step that began.</summary>
    public long Step { get; set; }
    /// <summary>A parameter whose gradient the output node reads at the start of backward; null: do not wrap.</summary>
    public TorchSharp.Modules.Parameter? GradWitness { get; set; }
    /// <summary>Capture the next in-step input batch (for the batch-mixing check).</summary>
    public bool CaptureInput { get; set; }
    /// <summary>
    /// Measure the native bytes the next evaluation with grad on holds (two full collections around that forward pass).
    /// The monitor switches it off once the evaluation-with-grad finding is raised.
    /// </summary>
    public bool MeasureGradCost { get; set; } = true;
    /// <summary>The captured input (owned by the caller once taken).</summary>
    public Tensor? CapturedInput { get; set; }

    /// <summary>Evaluations seen since the monitor last flushed them.</summary>
    public List<EvaluationObservation> Evaluations { get; } = [];
    /// <summary>In-step forwards whose mode-sensitive modules were all in eval mode: (step, modules).</summary>
    public (long Step, int Modules)? TrainInEval { get; set; }
    /// <summary>Set by the output node's backward: the witness gradient's |g| sum at the start of backward (0 when zeroed or none).</summary>
    public double? CarriedGradient { get; set; }

    public object? Identity(Tensor t) => ParamKeys.Identity(t);

    public void OnEnter(Module module, object?[] inputs)
    {
        if (Internal || !ReferenceEquals(module, _root)) return;
        if (_depth++ > 0) return;
        _bytes = 0;
        _squashed.Clear();
        _outputs.Clear();
        _gradInEval = false;
        _nativeBefore = null;
        if (!InStep && Started && MeasureGradCost && is_grad_enabled() && !Evaluations.Any(e => e.MeasuredBytes is not null))
        {
            _nativeBefore = NativeMemory.InUseBytesAfterCollection();
            _createdOutside = DisposeScopeManager.Statistics.CreatedOutsideScopeCount;
            _probeBytes = ProbeNodes.CachedBytesCreated;
        }
        if (InStep)
        {
            if (_modeModules.Count > 0 && _modeModules.All(m => !m.training)) TrainInEval ??= (Step, _modeModules.Count);
            if (CaptureInput && inputs.Length > 0 && inputs[0] is Tensor x && !x.IsInvalid)
            {
                CaptureInput = false;
                using var _ = no_grad();
                CapturedInput = x.detach().clone().DetachFromDisposeScope();
            }
        }
    }

    public object? OnExit(Module module, object?[] inputs, object? output)
    {
        if (Internal) return null;
        var t = output as Tensor;
        bool root = ReferenceEquals(module, _root);
        if (t is not null && !t.IsInvalid)
        {
            if (!InStep && Started && t.requires_grad && is_grad_enabled())
            {
                _bytes += t.numel() * t.element_size();
                _gradInEval = true;
            }
            var node = _tree.Find(module);
            if (node is not null && Squashers.Contains(node.TypeName))
                _squashed.Add((ParamKeys.Identity(t), node.DisplayPath, node.TypeName));
            // Every module output of a training step, innermost first (children finish before their parents): the producer of
            // a loss input that is not a softmax/sigmoid (the Linear whose raw scores reach nll_loss). Identities, not tensors.
            else if (node is not null && InStep && !root && _outputs.Count < MaxOutputs)
                _outputs.Add((ParamKeys.Identity(t), node.DisplayPath, node.TypeName));
        }
        if (!root || --_depth > 0) return null;
        if (!InStep)
        {
            if (Started)
            {
                var training = _tree.Nodes.Where(n => IsModeSensitive(n.TypeName) && n.Module.training).Select(n => n.DisplayPath).ToList();
                long? measured = null;
                bool scoped = false;
                if (_nativeBefore is { } before && _gradInEval && t is not null)
                {
                    // Tensors made inside a dispose scope stay alive until it ends, with grad or without.
                    scoped = DisposeScopeManager.Statistics.CreatedOutsideScopeCount == _createdOutside;
                    // Without what TorchDoctor's own gradient probes cached on this pass (a step sampled just before it).
                    measured = Math.Max(0, NativeMemory.InUseBytesAfterCollection() - before - (ProbeNodes.CachedBytesCreated - _probeBytes));
                    GC.KeepAlive(t);
                }
                _nativeBefore = null;
                long outputBytes = t is null || t.IsInvalid ? 0 : t.numel() * t.element_size();
                Evaluations.Add(new EvaluationObservation(Step, training, _modeModules.Count, _gradInEval, _bytes, measured, outputBytes, scoped));
            }
            return null;
        }
        // The output node runs in every training step: it reads the zero_grad witness (when one is set) and marks the
        // step's graph, so the leak watch can count graphs of past steps that something keeps alive (ProbeNodes).
        if (t is not null && t.requires_grad && is_grad_enabled())
        {
            var target = new ZeroGradProbe.Target(this, GradWitness);
            return ProbeNodes.Apply(() => ZeroGradProbe.apply(t, target), target, Step, marker: true);
        }
        return null;
    }

    /// <summary>The innermost softmax/sigmoid module of the last forward whose output is <paramref name="t"/>, or null.</summary>
    public (string Path, string Type)? ProducerOf(Tensor t)
    {
        var id = ParamKeys.Identity(t);
        foreach (var (identity, path, type) in _squashed)
            if (identity.Equals(id)) return (path, type);
        foreach (var (identity, path, type) in _outputs)
            if (identity.Equals(id)) return (path, type);
        return null;
    }

    internal void OnBackwardStart(TorchSharp.Modules.Parameter witness)
    {
        if (CarriedGradient is not null) return;
        var g = witness.grad;
        if (g is null || g.IsInvalid) { CarriedGradient = 0; return; }
        using var _ = no_grad();
        using var a = g.abs();
        CarriedGradient = TensorStats.Sum(a);
    }
}

/// <summary>Identity at the model's output in every training step; its backward runs first in backward and reports the witness parameter's gradient (when set). It also marks the step's graph for the leak watch.</summary>
internal sealed class ZeroGradProbe : autograd.SingleTensorFunction<ZeroGradProbe>
{
    internal sealed record Target(LoopProbe Probe, TorchSharp.Modules.Parameter? Witness);

    public override string Name => "TorchDoctorZeroGradProbe";

    public override Tensor forward(autograd.AutogradContext ctx, params object[] vars)
    {
        ctx.save_data("target", vars[1]);
        return ((Tensor)vars[0]).detach();
    }

    public override List<Tensor> backward(autograd.AutogradContext ctx, Tensor grad_output)
    {
        if (ctx.get_data("target") is Target { Witness: { } w } t) t.Probe.OnBackwardStart(w);
        return [grad_output.alias(), null!];
    }
}
