using System.Runtime.InteropServices;
using TorchDoctor.Detectors;
using TorchDoctor.Findings;
using TorchDoctor.Inspection;
using TorchDoctor.Monitors;
using TorchDoctor.Observations;
using TorchDoctor.Probes;
using TorchDoctor.Runtime;
using TorchDoctor.Sinks;
using TorchSharp;
using static TorchSharp.torch;
using Module = TorchSharp.torch.nn.Module;

namespace TorchDoctor.Training;

/// <summary>Options of <see cref="Doctor.Attach"/>.</summary>
public sealed record DoctorOptions
{
    /// <summary>
    /// Full probes (activation and gradient statistics, update ratios) run every this many steps. Default 100:
    /// about 1% overhead on the small demo CNN, much less on larger models (measured in docs/overhead.md).
    /// Findings that need persistence appear after 3 sampled steps. Set 1 to monitor every step.
    /// </summary>
    public int SampleInterval { get; init; } = 100;
    /// <summary>
    /// Which probes are on. Default: <see cref="ProbeKinds.Default"/> (all sampled probes; the every-step NaN/Inf watch turns
    /// itself on at the first non-finite loss). Use <see cref="ProbeKinds.All"/> when hunting a NaN from the first step.
    /// </summary>
    public ProbeKinds Probes { get; init; } = ProbeKinds.Default;
    /// <summary>Detector thresholds.</summary>
    public DetectorThresholds Thresholds { get; init; } = new();
    /// <summary>Finding codes or slugs never to report (e.g. <c>TD2010</c> or <c>update-ratio-low</c>).</summary>
    public IReadOnlySet<string> Suppress { get; init; } = new HashSet<string>();
    /// <summary>History window, in sampled steps (losses keep 10× as many). Default 20.</summary>
    public int Window { get; init; } = 20;
    /// <summary>
    /// After a step with a non-finite value, run the next step's backward (through <see cref="Doctor.Backward"/>)
    /// under <c>torch.autograd.detect_anomaly</c> to get libtorch's name for the backward function that made NaN,
    /// without paying anomaly mode's cost on every step.
    /// </summary>
    public bool Anomaly { get; init; }
    /// <summary>The detectors to run. Default: <see cref="TrainingDetectors.All"/>.</summary>
    public IReadOnlyList<ITrainingDetector>? Detectors { get; init; }
    /// <summary>
    /// Live outputs: each receives every finding and observation as it happens (after the built-in
    /// <see cref="Doctor.FindingRaised"/> event). A sink that throws never breaks training or the other sinks.
    /// Register one with <c>options with { Sinks = [mySink] }</c> or <see cref="Doctor.AddSink"/>.
    /// </summary>
    public IReadOnlyList<IDoctorSink> Sinks { get; init; } = [];
    /// <summary>
    /// Added capabilities, run after the built-in monitors (forward probe, parameters, updates) at each moment of the
    /// loop. Register one with <c>options with { Monitors = [myMonitor] }</c>.
    /// </summary>
    public IReadOnlyList<ITrainingMonitor> Monitors { get; init; } = [];
}

/// <summary>Thrown by <see cref="Doctor.Backward"/> when anomaly mode caught a NaN-producing backward function.</summary>
public sealed class NonFiniteGradientException(Finding finding, Exception inner) : Exception(finding.Message, inner)
{
    /// <summary>The anomaly-trace finding.</summary>
    public Finding Finding { get; } = finding;
}

/// <summary>
/// Watches a training loop layer by layer. Attach it to your model (and optimizer), keep your loop, and
/// call <see cref="BeginStep"/>, <see cref="AfterBackward"/> (or <see cref="Backward"/>) and
/// <see cref="EndStep"/>:
/// <code>
/// using var doctor = Doctor.Attach(model, optimizer);
/// foreach (var (x, y) in batches) {
///     doctor.BeginStep();
///     optimizer.zero_grad();
///     var loss = functional.cross_entropy(model.call(x), y);
///     loss.backward();
///     doctor.AfterBackward(loss);
///     optimizer.step();
///     doctor.EndStep();
/// }
/// foreach (var f in doctor.Findings) Console.WriteLine(f);
/// </code>
/// Probes never change training numerics (a run with the doctor is bit-identical to one without) and keep
/// nothing alive between steps; history lives in bounded windows. Dispose removes every hook.
/// </summary>
public sealed class Doctor : IDisposable
{
    private static readonly HashSet<string> NativeInternals = ["LSTM", "GRU", "RNN", "MultiheadAttention", "Transformer", "TransformerEncoder", "TransformerDecoder", "TransformerEncoderLayer", "TransformerDecoderLayer"];

    private readonly DoctorOptions _options;
    private readonly ModuleTree _tree;
    private readonly IReadOnlyList<MonitoredParameter> _params;
    private readonly ForwardProbeMonitor _forward;
    private readonly List<ITrainingMonitor> _monitors;
    private readonly SafeAggregateSink _sinks;
    private readonly List<Finding> _findings = [];
    private readonly Dictionary<(string, string?), int> _counts = [];
    private readonly IReadOnlyList<ITrainingDetector> _detectors;
    private StepContext? _step;
    private bool _sampled;
    private bool _inStep;
    private int _epoch;
    private bool _anomalyArmed;
    private AnomalyMode? _anomaly;
    private bool _anomalyOn => _anomaly is not null;
    private bool _disposed;
    private Finding? _pendingBackward;

    private Doctor(Module model, optim.Optimizer? optimizer, DoctorOptions options)
    {
        _options = options;
        _detectors = options.Detectors ?? TrainingDetectors.All;
        _tree = ModuleTree.Build(model);
        History = new TrainingHistory(options.Window);
        _params = _tree.Nodes.SelectMany(n => n.DirectParameters.Select(p => new MonitoredParameter(n.Path.Length == 0 ? p.Name : n.Path + "." + p.Name, n.Path, p.Parameter)))
            .GroupBy(p => ParamKeys.Identity(p.Parameter)).Select(g => g.First()).ToList();
        _sinks = new SafeAggregateSink([new EventSink(this), .. options.Sinks]);
        // Today's probes are the first monitors; added monitors run after them at every moment.
        _forward = new ForwardProbeMonitor(options.Probes, options.Thresholds.SaturationLimit);
        _monitors = [_forward, new ParameterMonitor(options.Probes)];
        if ((options.Probes & ProbeKinds.Updates) != 0) _monitors.Add(new UpdateMonitor());
        _monitors.AddRange(options.Monitors);
        var host = new MonitorHost(model, _tree, _params);
        foreach (var m in _monitors) m.Attach(host);
        StaticChecks(optimizer);
    }

    /// <summary>Attaches probes to every module of <paramref name="model"/>. Pass the optimizer to check that it holds every trainable parameter.</summary>
    public static Doctor Attach(Module model, optim.Optimizer? optimizer = null, DoctorOptions? options = null)
    {
        ArgumentNullException.ThrowIfNull(model);
        TorchRuntime.EnsureLoaded();
        options ??= new DoctorOptions();
        ArgumentOutOfRangeException.ThrowIfLessThan(options.SampleInterval, 1);
        return new Doctor(model, optimizer, options);
    }

    /// <summary>The step now running (or last run); 0 for the first step.</summary>
    public long Step { get; private set; } = -1;
    /// <summary>The epochs ended so far (<see cref="EndEpoch"/>).</summary>
    public int Epoch => _epoch;
    /// <summary>True when the current step runs the full probes.</summary>
    public bool IsSampled => _sampled;
    /// <summary>Findings so far: the first occurrence of each (code, module), in the order found.</summary>
    public IReadOnlyList<Finding> Findings => _findings;
    /// <summary>How many steps raised the same (code, module) as <paramref name="f"/>.</summary>
    public int Occurrences(Finding f) => _counts.GetValueOrDefault(OncePerRun.Contains(f.Code) ? (f.Code, null) : (f.Code, f.Module));
    /// <summary>Raised for each new (code, module). A handler that throws does not break training (see <see cref="SinkErrors"/>).</summary>
    public event EventHandler<Finding>? FindingRaised;
    /// <summary>Bounded histories of what the probes saw.</summary>
    public TrainingHistory History { get; }
    /// <summary>The first step whose loss was NaN/Inf, or null. From then on only the first non-finite origin is reported.</summary>
    public long? DivergedAt { get; private set; }
    /// <summary>The last completed step's observations.</summary>
    public StepObservations? LastStep { get; private set; }
    /// <summary>What sinks (and <see cref="FindingRaised"/> handlers) threw; they were isolated and the run went on.</summary>
    public IReadOnlyList<SinkError> SinkErrors => _sinks.Errors;

    /// <summary>Adds a live output (see <see cref="DoctorOptions.Sinks"/>); it sees events from now on.</summary>
    public void AddSink(IDoctorSink sink)
    {
        ObjectDisposedException.ThrowIf(_disposed, this);
        _sinks.Add(sink);
    }

    /// <summary>The sampling decision: full probes run at this step.</summary>
    private bool IsSampledStep(long step) => step % _options.SampleInterval == 0;

    private bool NonFiniteWatch => (_forward.Kinds & ProbeKinds.NonFinite) != 0;

    /// <summary>Starts a step: call before the forward pass.</summary>
    public void BeginStep()
    {
        ObjectDisposedException.ThrowIf(_disposed, this);
        if (_inStep) EndStep();
        Step++;
        _inStep = true;
        _sampled = IsSampledStep(Step);
        _step = new StepContext(Step, _sampled, NonFiniteWatch, o => _sinks.Emit(new ObservationEvent(o)));
        foreach (var m in _monitors) m.OnBeginStep(_step);
        if (_anomalyArmed && !_anomalyOn)
            _anomaly = autograd.detect_anomaly();   // disposed at the end of the step: restores the previous mode
    }

    /// <summary>
    /// Records the loss and, at sampled steps, the parameter gradients (and a copy of the weights to measure
    /// this step's update). Call after <c>loss.backward()</c> and before <c>optimizer.step()</c>.
    /// </summary>
    public void AfterBackward(Tensor? loss = null)
    {
        ObjectDisposedException.ThrowIf(_disposed, this);
        if (!_inStep) BeginStep();
        var step = _step!;
        if (loss is not null && !loss.IsInvalid)
            step.Loss = loss.numel() != 1 ? TensorStats.Sum(loss)
                  : loss.dtype == ScalarType.Float64 ? loss.item<double>()
                  : loss.dtype == ScalarType.Float32 ? loss.item<float>()
                  : TensorStats.Sum(loss);   // one sync, no temporaries
        step.LossTensor = loss;
        try
        {
            foreach (var m in _monitors) m.OnAfterBackward(step);
        }
        finally
        {
            step.LossTensor = null;
        }
    }

    /// <summary>
    /// Runs <c>loss.backward()</c> and <see cref="AfterBackward"/>. When <see cref="DoctorOptions.Anomaly"/> is on
    /// and the previous step was non-finite, backward runs under anomaly mode; if libtorch then names a backward
    /// function that returned NaN, an anomaly-trace finding is raised and <see cref="NonFiniteGradientException"/> thrown.
    /// </summary>
    public void Backward(Tensor loss)
    {
        ArgumentNullException.ThrowIfNull(loss);
        try
        {
            loss.backward();
        }
        catch (ExternalException ex) when (_anomalyOn)
        {
            var msg = ShapeExplainer.FirstLine(ex.Message);
            var fn = System.Text.RegularExpressions.Regex.Match(msg, @"Function '(\w+)'").Groups[1].Value;
            var f = Finding.Create(TrainingCodes.AnomalyTrace, null,
                $"Anomaly mode at step {Step}: {msg}",
                (fn.Length > 0 ? $"{fn} is the backward of the forward operation that needs guarding; " : "") +
                "see the nonfinite-forward/backward findings for the module, and add an epsilon or clamp before that operation.",
                new Evidence { ["libtorch"] = msg, ["backward function"] = fn }, Step);
            Raise(f);
            DisarmAnomaly();
            throw new NonFiniteGradientException(f, ex);
        }
        AfterBackward(loss);
    }

    /// <summary>Ends a step: call after <c>optimizer.step()</c>. Measures updates and runs the detectors.</summary>
    public void EndStep()
    {
        ObjectDisposedException.ThrowIf(_disposed, this);
        if (!_inStep) return;
        _inStep = false;
        var ctx = _step!;
        foreach (var m in _monitors) m.OnEndStep(ctx);
        var acts = ctx.Activations;
        var grads = ctx.ActivationGradients;
        var paramObs = ctx.Parameters;
        var step = new StepObservations
        {
            Step = Step,
            Sampled = _sampled,
            Loss = ctx.Loss,
            Activations = acts,
            ActivationGradients = grads,
            Parameters = paramObs,
            Updates = ctx.Updates,
            ModulesThatRan = ctx.ModulesEntered.Keys.ToHashSet(),
            GlobalGradNorm = ctx.GlobalGradNorm,
            Extra = [.. ctx.Extra],
        };
        History.Add(step);
        LastStep = step;
        _sinks.Emit(new ObservationEvent(step));
        bool nonFinite = acts.Any(a => a.NonFinite > 0) || grads.Any(g => g.NonFinite > 0) || paramObs.Any(p => p.GradNonFinite > 0) ||
                         ctx.Loss is { } l && !double.IsFinite(l);
        // A backward pass that went non-finite from a finite forward: watch activation gradients next step to name the module.
        bool watchGradients = NonFiniteWatch &&
            acts.All(a => a.NonFinite == 0) && paramObs.Any(p => p.GradNonFinite > 0) && !grads.Any(g => g.NonFinite > 0);
        // Once the loss is non-finite the run has diverged: every other statistic is garbage from then on,
        // so only detectors that report after divergence (the NaN/Inf origin) keep running, and they report once.
        bool divergedBefore = DivergedAt is not null;
        bool lossNonFinite = ctx.Loss is { } lossNow && !double.IsFinite(lossNow);
        if (lossNonFinite) DivergedAt ??= Step;
        // if NaN recurs, the next step names where it starts
        _forward.Configure(watchGradients, enableNonFiniteWatch: lossNonFinite);
        var found = new List<Finding>();
        if (!divergedBefore || !HasCode(TrainingCodes.NonFiniteForward.Code) && !HasCode(TrainingCodes.NonFiniteBackward.Code))
            foreach (var d in _detectors)
            {
                if ((DivergedAt is not null && !d.RunsAfterDivergence) || (divergedBefore && acts.Count == 0)) continue;
                found.AddRange(d.Detect(step, History, _options.Thresholds));
            }
        // A backward origin found from parameter gradients alone is held for one step, in which activation
        // gradients are watched: the precise one (naming the module whose backward made NaN/Inf) replaces it.
        var backward = found.FirstOrDefault(f => f.Code == TrainingCodes.NonFiniteBackward.Code);
        if (_pendingBackward is not null)
        {
            if (backward is null) Raise(_pendingBackward);
            _pendingBackward = null;
        }
        foreach (var f in found)
        {
            if (ReferenceEquals(f, backward) && !f.Evidence.ContainsKey(NonFiniteDetector.LastFiniteKey) && !HasCode(f.Code) &&
                NonFiniteWatch && !_sampled)
            {
                _pendingBackward = f;
                continue;
            }
            Raise(f);
        }
        if (_anomalyOn) DisarmAnomaly();
        // Anomaly mode waits while activation gradients are being watched, so the two do not interrupt each other.
        if (nonFinite && _options.Anomaly && !HasCode(TrainingCodes.AnomalyTrace.Code) && _pendingBackward is null && !watchGradients)
            _anomalyArmed = true;
    }

    /// <summary>
    /// Ends an epoch: call after the epoch's last step (and its evaluation). Ends the open step, then gives the
    /// monitors and sinks an <see cref="EpochObservation"/> with <paramref name="metrics"/> (e.g. validation loss).
    /// </summary>
    public void EndEpoch(IReadOnlyDictionary<string, double>? metrics = null)
    {
        ObjectDisposedException.ThrowIf(_disposed, this);
        if (_inStep) EndStep();
        var epoch = new EpochObservation(Step, _epoch++, metrics ?? new Dictionary<string, double>());
        var ctx = new EpochContext(epoch, o => _sinks.Emit(new ObservationEvent(o)));
        foreach (var m in _monitors) m.OnEndEpoch(ctx);
        _sinks.Emit(new ObservationEvent(epoch));
    }

    private void DisarmAnomaly()
    {
        _anomaly?.Dispose();
        _anomaly = null;
        _anomalyArmed = false;
    }

    private void StaticChecks(optim.Optimizer? optimizer)
    {
        if (optimizer is not null)
        {
            var inOptimizer = optimizer.parameters().Select(ParamKeys.Identity).ToHashSet();
            var missing = _params.Where(p => p.Parameter.requires_grad && !inOptimizer.Contains(ParamKeys.Identity(p.Parameter))).ToList();
            if (missing.Count > 0)
                Raise(Finding.Create(TrainingCodes.NotInOptimizer, missing[0].Module,
                    $"{missing.Count} trainable parameter(s) are not in the optimizer and will never change: {string.Join(", ", missing.Take(8).Select(m => m.Name))}{(missing.Count > 8 ? ", …" : "")}.",
                    "Create the optimizer after the model is complete, from `model.parameters()` (e.g. `optim.Adam(model.parameters(), lr)`), " +
                    "or add a param group for the missing modules; layers created after the optimizer or held in plain C# lists (not registered) are the usual cause.",
                    new Evidence { ["missing"] = EvidenceValue.Count(missing.Count), ["parameters"] = string.Join(", ", missing.Select(m => m.Name)) }));
        }
        foreach (var n in _tree.Nodes.Where(n => NativeInternals.Contains(n.TypeName)))
            Raise(Finding.Create(StructureCodes.OpaqueModule, n.DisplayPath,
                $"{n.DisplayPath} ({n.TypeName}) runs its internals in native code: TorchDoctor watches its output, its gradient and its parameters, but not its gates or sub-layers one by one.",
                "Nothing to fix; for per-gate statistics, build the cell from Linear layers."));
        foreach (var n in _tree.Nodes.Where(n => n.Module is jit.ScriptModule && n.Children.Count > 0 && n.Parent?.Module is not jit.ScriptModule))
            Raise(Finding.Create(StructureCodes.OpaqueModule, n.DisplayPath,
                $"{n.DisplayPath} is TorchScript: its children run inside TorchScript and are not observed one by one.",
                "Nothing to fix; monitor the C# model the file came from for per-layer statistics."));
    }

    private static readonly HashSet<string> OncePerRun =
        [TrainingCodes.NonFiniteForward.Code, TrainingCodes.NonFiniteBackward.Code, TrainingCodes.NonFiniteLoss.Code, TrainingCodes.AnomalyTrace.Code];

    private bool HasCode(string code) => _findings.Any(x => x.Code == code);

    private void Raise(Finding f)
    {
        if (_options.Suppress.Contains(f.Code) || _options.Suppress.Contains(f.Slug)) return;
        // The first NaN/Inf origin is the one to fix; later ones are its consequences.
        var key = OncePerRun.Contains(f.Code) ? (f.Code, (string?)null) : (f.Code, f.Module);
        _counts[key] = _counts.GetValueOrDefault(key) + 1;
        if (_counts[key] > 1) return;
        _findings.Add(f);
        _sinks.Emit(new FindingEvent(f));
    }

    /// <summary>The first sink: raises <see cref="FindingRaised"/>, so its handlers are isolated like any sink.</summary>
    private sealed class EventSink(Doctor doctor) : IDoctorSink
    {
        public void Emit(DoctorEvent e)
        {
            if (e is FindingEvent f) doctor.FindingRaised?.Invoke(doctor, f.Finding);
        }
    }

    /// <summary>Removes every hook and frees the weight copies.</summary>
    public void Dispose()
    {
        if (_disposed) return;
        _disposed = true;
        foreach (var m in _monitors.OfType<IDisposable>()) m.Dispose();
        DisarmAnomaly();
        _sinks.Dispose();
    }
}
