using TorchDoctor.Observations;
using TorchSharp;
using static TorchSharp.torch;
using Module = TorchSharp.torch.nn.Module;

namespace TorchDoctor.Probes;

/// <summary>Which probes run.</summary>
[Flags]
public enum ProbeKinds
{
    /// <summary>None.</summary>
    None = 0,
    /// <summary>Per-module output statistics at sampled steps.</summary>
    Activations = 1,
    /// <summary>Gradient flowing into each module's output at sampled steps (identity autograd node).</summary>
    ActivationGradients = 2,
    /// <summary>Parameter gradient statistics after backward at sampled steps.</summary>
    ParameterGradients = 4,
    /// <summary>‖Δw‖/‖w‖ per parameter at sampled steps (copies the weights once per sampled step).</summary>
    Updates = 8,
    /// <summary>Every step: a finiteness check of each module's output (one sum) and of the parameter
    /// gradients, to name where the first NaN/Inf appears; after a non-finite backward pass, activation
    /// gradients are watched at the next step to name the module.</summary>
    NonFinite = 16,
    /// <summary>The default: every sampled probe; the every-step NaN/Inf watch switches itself on at the first non-finite loss.</summary>
    Default = Activations | ActivationGradients | ParameterGradients | Updates,
    /// <summary>Everything, including the every-step NaN/Inf watch from the first step.</summary>
    All = Activations | ActivationGradients | ParameterGradients | Updates | NonFinite,
}

/// <summary>
/// The forward-hook side of training monitoring: at sampled steps it copies statistics out of every
/// module's output (and wraps the output in an identity autograd node to see its gradient); at every
/// step, when <see cref="ProbeKinds.NonFinite"/> is on, it checks outputs and gradients for NaN/Inf.
/// Nothing it computes outlives the hook (dispose scopes, no_grad), and values are never changed.
/// </summary>
internal sealed class TrainingProbe : IForwardObserver, IDisposable
{
    private static readonly HashSet<string> ReluFamily = ["ReLU", "ReLU6"];
    private static readonly HashSet<string> Squashing = ["Sigmoid", "Tanh"];

    private readonly ModuleTree _tree;
    private ProbeKinds _kinds;
    private readonly double _saturationLimit;
    private readonly double _deadReluFraction;
    /// <summary>Per ReLU-family module and unit count: the units that fired in some batch of the module's current run of sampled
    /// steps with at least <see cref="_deadReluFraction"/> zero outputs (bool masks on the output's device; one per module
    /// and unit shape, dropped when the run ends).</summary>
    private readonly Dictionary<(string Path, long Units), Tensor> _fired = [];
    private readonly Lock _gate = new();
    private readonly List<ActivationObservation> _activations = [];
    private readonly List<ActivationGradientObservation> _gradients = [];
    private readonly Dictionary<string, int> _entered = [];
    private int _exitOrder;
    private int _backwardOrder;

    public TrainingProbe(ModuleTree tree, ProbeKinds kinds, double saturationLimit, double deadReluFraction)
    {
        _tree = tree;
        _kinds = kinds;
        _saturationLimit = saturationLimit;
        _deadReluFraction = deadReluFraction;
    }

    /// <summary>Frees the fired-unit masks.</summary>
    public void Dispose()
    {
        lock (_gate)
        {
            foreach (var m in _fired.Values) m.Dispose();
            _fired.Clear();
        }
    }

    /// <summary>Probes in force.</summary>
    public ProbeKinds Kinds => _kinds;

    /// <summary>Turns on the every-step NaN/Inf watch (after a non-finite loss was seen without it).</summary>
    public void EnableNonFiniteWatch() => _kinds |= ProbeKinds.NonFinite;

    public long Step { get; private set; }
    public bool Sampled { get; private set; }

    /// <summary>
    /// Watch activation gradients at every step (set by the doctor for the step after a backward pass
    /// produced NaN/Inf, to name the module; identity autograd nodes cost ~30 µs per module call, too
    /// much to leave on).
    /// </summary>
    public bool WatchGradients { get; set; }
    private bool WatchNonFinite => (_kinds & ProbeKinds.NonFinite) != 0;

    /// <summary>Starts a step: clears the per-step buffers.</summary>
    public void Begin(long step, bool sampled)
    {
        lock (_gate)
        {
            Step = step;
            Sampled = sampled;
            _activations.Clear();
            _gradients.Clear();
            _entered.Clear();
            _exitOrder = 0;
            _backwardOrder = 0;
            _between = false;
        }
    }

    /// <summary>
    /// Ends a step: forward calls until the next <see cref="Begin"/> (validation, the user's evaluation, a check's own passes)
    /// are not observed. Nothing recorded between steps ever reached a finding (Begin clears it); observing it only cost
    /// statistics for every evaluation batch after a sampled step and fed evaluation outputs into the fired-unit masks.
    /// </summary>
    public void End()
    {
        lock (_gate)
        {
            Sampled = false;
            _between = true;
        }
    }

    private bool _between;

    /// <summary>What the step produced so far.</summary>
    public (List<ActivationObservation> Activations, List<ActivationGradientObservation> Gradients, Dictionary<string, int> Entered) Take()
    {
        lock (_gate) return ([.. _activations], [.. _gradients], new Dictionary<string, int>(_entered));
    }

    // Observations name modules as findings print them: the root is "(root)", never a blank.
    private string PathOf(Module m) => _tree.Find(m)?.DisplayPath ?? $"<unregistered {ModuleNode.TypeNameOf(m)}>";

    public void OnEnter(Module module, object?[] inputs)
    {
        if (!Sampled) return;
        lock (_gate) _entered.TryAdd(PathOf(module), _entered.Count);
    }

    public object? OnExit(Module module, object?[] inputs, object? output)
    {
        if (_between || !Sampled && !WatchNonFinite) return null;
        // Tuple outputs (LSTM: output, h_n, c_n) are observed through their first tensor; only plain tensor
        // outputs get the gradient node, since a tuple cannot be rebuilt with a replaced element in general.
        bool plain = output is Tensor;
        var t = output as Tensor ?? (output is System.Runtime.CompilerServices.ITuple { Length: > 0 } tuple ? tuple[0] as Tensor : null);
        if (t is null || t.IsInvalid || !t.is_floating_point()) return null;
        var node = _tree.Find(module);
        var path = node?.DisplayPath ?? PathOf(module);
        var type = node?.TypeName ?? ModuleNode.TypeNameOf(module);
        int order;
        lock (_gate) order = _exitOrder++;

        if (Sampled && (_kinds & ProbeKinds.Activations) != 0)
        {
            Record(FullObservation(path, type, order, t, inputs));
        }
        else if (WatchNonFinite && !double.IsFinite(TensorStats.Sum(t)))
        {
            var full = FullObservation(path, type, order, t, inputs);
            if (full.NonFinite > 0) Record(full with { FinitenessOnly = !Sampled });
        }

        bool wrap = plain && t.requires_grad && torch.is_grad_enabled() &&
                    ((Sampled && (_kinds & ProbeKinds.ActivationGradients) != 0) || WatchGradients);
        if (!wrap) return null;
        var target = new GradientProbe.Target(this, path, Sampled || WatchGradients);
        return ProbeNodes.Apply(() => GradientProbe.apply(t, target), target, Step);
    }

    private void Record(ActivationObservation o)
    {
        lock (_gate) _activations.Add(o);
    }

    /// <summary>
    /// Keeps the union of fired units over a run of mostly-zero sampled steps: a step at or above the dead-ReLU fraction joins
    /// the run (its fired units are added to the mask, or start it); a step below ends the run and drops the mask. Returns the
    /// fraction of units that fired in no batch of the run so far. Takes ownership of <paramref name="fired"/>.
    /// </summary>
    private double? UpdateFired((string, long) key, Tensor? prior, Tensor fired, bool mostlyZero, double? neverFiredWithPrior, double? deadUnits)
    {
        lock (_gate)
        {
            if (mostlyZero && prior is not null && neverFiredWithPrior is not null)
            {
                Tensor union;
                using (no_grad()) union = prior.logical_or(fired).DetachFromDisposeScope();   // outlives the user's step scope
                prior.Dispose();
                fired.Dispose();
                _fired[key] = union;
                return neverFiredWithPrior;
            }
            prior?.Dispose();
            if (mostlyZero) _fired[key] = fired;
            else
            {
                _fired.Remove(key);
                fired.Dispose();
            }
            return deadUnits;
        }
    }

    private ActivationObservation FullObservation(string path, string type, int order, Tensor t, object?[] inputs)
    {
        bool relu = ReluFamily.Contains(type);
        Tensor? firstInput = null;
        foreach (var i in inputs.SelectMany(x => TensorInfo.Tensors(x)))
            if (i.is_floating_point()) { firstInput = i; break; }
        // One read for every statistic of the output (and the saturation of a sigmoid/tanh input).
        var key = (path, relu && t.dim() >= 2 && t.shape[0] > 0 ? t.numel() / t.shape[0] : 0);
        Tensor? prior = null;
        if (key.Item2 > 0) lock (_gate) _fired.TryGetValue(key, out prior);
        var (mean, std, min, max, zeros, nonFinite, deadUnits, saturated, fired, neverFiredWithPrior) =
            TensorStats.Activation(t, relu, Squashing.Contains(type) ? firstInput : null, _saturationLimit, prior);
        double? zeroFraction = !relu ? null : t.numel() == 0 ? 0 : (double)zeros / t.numel();
        double? neverFired = fired is null ? null : UpdateFired(key, prior, fired, zeroFraction >= _deadReluFraction, neverFiredWithPrior, deadUnits);
        long inputNonFinite = 0;
        if (nonFinite > 0)
            foreach (var i in inputs.SelectMany(x => TensorInfo.Tensors(x)))
                if (i.is_floating_point() && !double.IsFinite(TensorStats.Sum(i)))
                    inputNonFinite += TensorStats.Summary(i).NonFinite;
        var o = new ActivationObservation
        {
            Step = Step, Module = path, ModuleType = type, ExitOrder = order, Elements = t.numel(),
            Mean = mean, Std = std, Min = min, Max = max,
            ZeroFraction = zeroFraction,
            DeadUnitFraction = deadUnits,
            NeverFiredFraction = neverFired,
            SaturatedFraction = saturated,
            NonFinite = nonFinite, InputNonFinite = inputNonFinite,
        };
        if (nonFinite > 0)
        {
            var (nan, pos, neg) = TensorStats.NonFiniteCounts(t);
            // Any parameter of the module or its descendants: a container (the root too) whose children hold NaN
            // weights is not an origin, whatever its own direct parameters.
            bool poisoned = _tree.Nodes.FirstOrDefault(n => n.DisplayPath == path)?.Module.parameters().Any(p => !double.IsFinite(TensorStats.Sum(p))) ?? false;
            o = o with { NaN = nan, PosInf = pos, NegInf = neg, ParametersNonFinite = poisoned };
            if (firstInput is not null)
            {
                var (imin, imax, izeros) = TensorStats.FiniteRange(firstInput);
                o = o with { InputMin = imin, InputMax = imax, InputZeros = izeros };
            }
        }
        return o;
    }

    /// <summary>Called from the identity node's backward with the gradient of a module's output.</summary>
    internal void OnGradient(string path, bool sampled, Tensor grad)
    {
        double norm;
        long nonFinite;
        if (sampled || WatchGradients)
            (norm, nonFinite) = TensorStats.NormAndNonFinite(grad);
        else
        {
            if (double.IsFinite(TensorStats.Sum(grad))) { lock (_gate) _backwardOrder++; return; }
            (norm, nonFinite) = TensorStats.NormAndNonFinite(grad);
            if (nonFinite == 0) { lock (_gate) _backwardOrder++; return; }
        }
        lock (_gate) _gradients.Add(new ActivationGradientObservation(Step, path, _backwardOrder++, norm, nonFinite));
    }
}

/// <summary>
/// Identity autograd function: forward returns a view of its input; backward reports the incoming
/// gradient to the probe and passes it on unchanged. This is how TorchDoctor sees activation gradients
/// without backward hooks, which TorchSharp lacks.
/// </summary>
internal sealed class GradientProbe : autograd.SingleTensorFunction<GradientProbe>
{
    internal sealed record Target(TrainingProbe Probe, string Module, bool Sampled);

    public override string Name => "TorchDoctorGradientProbe";

    public override Tensor forward(autograd.AutogradContext ctx, params object[] vars)
    {
        ctx.save_data("target", vars[1]);
        // detach(): same storage, not an autograd view, so in-place ops after the module (ResNet's relu_, +=) stay legal.
        return ((Tensor)vars[0]).detach();
    }

    public override List<Tensor> backward(autograd.AutogradContext ctx, Tensor grad_output)
    {
        if (ctx.get_data("target") is Target t) t.Probe.OnGradient(t.Module, t.Sampled, grad_output);
        return [grad_output.alias(), null!];
    }
}
