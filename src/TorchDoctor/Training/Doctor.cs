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
    /// Full probes (activation and gradient statistics, update ratios) run every this many steps in a healthy steady
    /// state. Default 100: within the noise of an unmonitored run on the small demo CNN, much less on larger models
    /// (measured in docs/overhead.md). Set 1 to monitor every step.
    /// </summary>
    public int SampleInterval { get; init; } = 100;
    /// <summary>
    /// When the full probes run before and around the steady state: every step at the start, then backing off to
    /// <see cref="SampleInterval"/>, and every step again for a while after a loss spike, a gradient-norm jump or a
    /// candidate finding (<see cref="SamplingSchedule"/>), so findings that need 3 sampled steps appear within the first
    /// steps. Null: a fixed interval (steps 0, <see cref="SampleInterval"/>, 2×<see cref="SampleInterval"/>, …).
    /// </summary>
    public SamplingScheduleOptions? Schedule { get; init; } = new();
    /// <summary>
    /// Which probes are on. Default: <see cref="ProbeKinds.Default"/> (all sampled probes; the every-step NaN/Inf watch turns
    /// itself on at the first non-finite loss). Use <see cref="ProbeKinds.All"/> when hunting a NaN from the first step.
    /// </summary>
    public ProbeKinds Probes { get; init; } = ProbeKinds.Default;
    /// <summary>Detector thresholds.</summary>
    public DetectorThresholds Thresholds { get; init; } = new();
    /// <summary>Thresholds of the curve rules (overfitting, convergence, learning rate), run at <see cref="Doctor.EndEpoch(double, double?, double?, double?, IReadOnlyDictionary{string, double}?)"/> and on step losses.</summary>
    public CurveThresholds CurveThresholds { get; init; } = new();
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
    /// Live outputs (<see cref="IDoctorSink"/>): each receives every finding and observation as it happens; a sink that throws
    /// never breaks training or the other sinks. Run recorders (<see cref="IRunSink"/>) such as <c>RunSinks.ForDirectory("runs/exp1")</c>
    /// (a JSONL run log and TensorBoard event files) also get the run's start, steps with learning rate, memory and
    /// histograms, scalars and phases. Disposing the doctor disposes them. More: <see cref="Doctor.AddSink"/>.
    /// </summary>
    public IReadOnlyList<IDoctorSink> Sinks { get; init; } = [];
    /// <summary>
    /// Added capabilities, run after the built-in monitors (forward probe, parameters, updates) at each moment of the
    /// loop. Register one with <c>options with { Monitors = [myMonitor] }</c>.
    /// </summary>
    public IReadOnlyList<ITrainingMonitor> Monitors { get; init; } = [];
    /// <summary>What the recording adds (histograms, run name).</summary>
    public RunRecorderOptions Recording { get; init; } = new();
    /// <summary>
    /// Leak watch (<see cref="Training.LeakWatch"/>): live tensors and native memory that survive collection, checked every
    /// 5–50 steps; on by default (its cost is in docs/overhead.md). Set false to turn it off.
    /// </summary>
    public bool LeakWatch { get; init; } = true;
    /// <summary>Deep mode of the leak watch: when a leak is found, name the field or local holding the tensors and the source line (heap snapshot; seconds).</summary>
    public bool LeakAttribution { get; init; }
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
    private readonly UpdateMonitor? _updates;
    private readonly List<ITrainingMonitor> _monitors;
    private readonly SafeAggregateSink _sinks;
    private readonly List<Finding> _findings = [];
    private readonly Dictionary<(string, string?), int> _counts = [];
    private readonly IReadOnlyList<ITrainingDetector> _detectors;
    private StepContext? _step;
    private bool _sampled;
    private bool _inStep;
    private bool _anomalyArmed;
    private AnomalyMode? _anomaly;
    private bool _anomalyOn => _anomaly is not null;
    private bool _disposed;
    private Finding? _pendingBackward;
    private readonly RunRecorder? _recorder;
    private readonly SamplingSchedule? _schedule;
    private readonly ConvergenceMonitor _convergence;
    private int _epoch;

    private readonly LeakWatch? _leakWatch;

    private Doctor(Module model, optim.Optimizer? optimizer, DoctorOptions options)
    {
        _options = options;
        _detectors = options.Detectors ?? TrainingDetectors.All;
        _tree = ModuleTree.Build(model);
        _schedule = options.Schedule is null ? null : new SamplingSchedule(options.SampleInterval, options.Schedule);
        History = new TrainingHistory(options.Window);
        _params = _tree.Nodes.SelectMany(n => n.DirectParameters.Select(p => new MonitoredParameter(n.Path.Length == 0 ? p.Name : n.Path + "." + p.Name, n.DisplayPath, p.Parameter)))
            .GroupBy(p => ParamKeys.Identity(p.Parameter)).Select(g => g.First()).ToList();
        _sinks = new SafeAggregateSink([new EventSink(this), .. options.Sinks]);
        // Today's probes are the first monitors; added monitors run after them at every moment.
        _forward = new ForwardProbeMonitor(options.Probes, options.Thresholds.SaturationLimit, options.Thresholds.DeadReluFraction);
        _monitors = [_forward, new ParameterMonitor(options.Probes)];
        if ((options.Probes & ProbeKinds.Updates) != 0) _monitors.Add(_updates = new UpdateMonitor(SgdLearningRates(optimizer)));
        _monitors.AddRange(options.Monitors);
        var host = new MonitorHost(model, _tree, _params);
        foreach (var m in _monitors) m.Attach(host);
        _convergence = new ConvergenceMonitor(model, _tree, optimizer, options.CurveThresholds, options.Window, Raise);
        if (options.LeakWatch) _leakWatch = new LeakWatch(new LeakWatchOptions { Attribution = options.LeakAttribution });
        // The run recording starts before the static checks, so its log opens with the run and then their findings.
        if (options.Sinks.OfType<IRunSink>().Any())
            _recorder = new RunRecorder(this, model, optimizer, o => _sinks.Emit(new ObservationEvent(o)), options.Recording, options.SampleInterval);
        StaticChecks(optimizer);
        _recorder?.Started();
    }

    /// <summary>For plain SGD: each parameter's group, whose learning rate is read when an update is measured; null otherwise.</summary>
    private static Func<TorchSharp.Modules.Parameter, double?>? SgdLearningRates(optim.Optimizer? optimizer)
    {
        if (optimizer is not TorchSharp.Modules.SGD sgd) return null;
        var groups = new Dictionary<object, optim.ILearningRateController>();
        foreach (var g in sgd.ParamGroups)
            foreach (var p in OptimizerGroups.Parameters(g)) groups.TryAdd(ParamKeys.Identity(p), g);
        return p => groups.TryGetValue(ParamKeys.Identity(p), out var g) ? g.LearningRate : null;
    }

    /// <summary>Adds a live output (see <see cref="DoctorOptions.Sinks"/>); it sees events from now on.</summary>
    public void AddSink(IDoctorSink sink)
    {
        ObjectDisposedException.ThrowIf(_disposed, this);
        _sinks.Add(sink);
    }

    /// <summary>What sinks (and <see cref="FindingRaised"/> handlers) threw; they were isolated and the run went on.</summary>
    public IReadOnlyList<SinkError> SinkErrors => _sinks.Errors;

    /// <summary>The epochs ended so far (<see cref="EndEpoch(EpochRecord)"/>).</summary>
    public int Epoch => _epoch;

    private bool NonFiniteWatch => (_forward.Kinds & ProbeKinds.NonFinite) != 0;

    /// <summary>
    /// Records a scalar the loop computed (validation loss, accuracy, an epoch metric) at the current step, for the sinks
    /// (<see cref="DoctorOptions.Sinks"/>). Common tags: <c>val/loss</c>, <c>val/accuracy</c>, <c>train/accuracy</c>.
    /// </summary>
    public void LogScalar(string tag, double value, long? step = null)
    {
        ArgumentException.ThrowIfNullOrWhiteSpace(tag);
        _recorder?.OnScalar(tag, step ?? Math.Max(0, Step), value);
    }

    /// <summary>Marks the start of a phase (e.g. <c>validate</c>, <c>train</c>) in the run log.</summary>
    public void BeginPhase(string name)
    {
        ArgumentException.ThrowIfNullOrWhiteSpace(name);
        _recorder?.OnPhase(name, Math.Max(0, Step));
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
    /// <summary>True when the current step runs the full probes.</summary>
    public bool IsSampled => _sampled;
    /// <summary>The sampling schedule in force (null with a fixed interval, <see cref="DoctorOptions.Schedule"/> = null).</summary>
    public SamplingSchedule? Schedule => _schedule;
    /// <summary>Findings so far: the first occurrence of each (code, module), in the order found.</summary>
    public IReadOnlyList<Finding> Findings => _findings;
    /// <summary>How many steps raised the same (code, module) as <paramref name="f"/>.</summary>
    public int Occurrences(Finding f) => _counts.GetValueOrDefault(OncePerRun.Contains(f.Code) ? (f.Code, null) : (f.Code, f.Module));
    /// <summary>
    /// Raised for each new (code, module). A handler added after <see cref="Attach"/> first receives the findings raised
    /// so far (those of Attach's static checks, such as parameters missing from the optimizer), in order, then the new ones.
    /// </summary>
    public event EventHandler<Finding>? FindingRaised
    {
        add
        {
            if (value is null) return;
            _findingRaised += value;
            foreach (var f in _findings.ToList()) value(this, f);
        }
        remove => _findingRaised -= value;
    }
    private EventHandler<Finding>? _findingRaised;
    /// <summary>Bounded histories of what the probes saw.</summary>
    public TrainingHistory History { get; }
    /// <summary>The first step whose loss was NaN/Inf, or null. From then on only the first non-finite origin is reported.</summary>
    public long? DivergedAt { get; private set; }
    /// <summary>The last completed step's observations.</summary>
    public StepObservations? LastStep { get; private set; }
    /// <summary>The leak watch (memory timeline, checks), or null when <see cref="DoctorOptions.LeakWatch"/> is off.</summary>
    public LeakWatch? LeakWatch => _leakWatch;

    /// <summary>Starts a step: call before the forward pass.</summary>
    public void BeginStep()
    {
        ObjectDisposedException.ThrowIf(_disposed, this);
        if (_inStep) EndStep();
        Step++;
        _inStep = true;
        // The sampling decision is the doctor's: the schedule, or a fixed interval.
        _sampled = _schedule?.IsSampled(Step) ?? Step % _options.SampleInterval == 0;
        _step = new StepContext(Step, _sampled, NonFiniteWatch, o => _sinks.Emit(new ObservationEvent(o)));
        foreach (var m in _monitors) m.OnBeginStep(_step);
        _convergence.BeginStep(Step);
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
        if (!_inStep)
        {
            _convergence.ImplicitStep();
            BeginStep();
        }
        if (loss is not null && !loss.IsInvalid && loss.numel() == 0)
            throw new ArgumentException($"The loss tensor is empty (shape [{string.Join(", ", loss.shape)}]): there is no loss to record. An empty batch? Check the loader and the loss's reduction.", nameof(loss));
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
        if (step.GlobalGradNorm is { } norm && _sampled) _schedule?.ObserveGradNorm(Step, norm);
        if (step.Loss is { } seen) _schedule?.ObserveLoss(Step, seen);
        _convergence.AfterBackward(Step);
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
        var updates = ctx.Updates;
        var step = new StepObservations
        {
            Step = Step,
            Sampled = _sampled,
            Loss = ctx.Loss,
            Activations = acts,
            ActivationGradients = grads,
            Parameters = paramObs,
            Updates = updates,
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
        // One cause, one finding: a NaN loss after an origin or an explosion is their consequence, not a second cause.
        if (found.Any(f => f.Code is "TD2002" or "TD2005" or "TD2006"))
            found.RemoveAll(f => f.Code == TrainingCodes.NonFiniteLoss.Code);
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
        if (_schedule is not null && step.Sampled && DivergedAt is null) SuspectCandidates(step);
        _convergence.EndStep(Step, ctx.Loss, updates, HasCode);
        // The weight-copy buffers are reused while every step is sampled, and freed otherwise.
        if (!(_schedule?.IsDense(Step + 1) ?? _options.SampleInterval == 1)) _updates?.Release();
        if (_leakWatch?.EndStep(Step) is { } leak) Raise(leak);
        if (_anomalyOn) DisarmAnomaly();
        // Anomaly mode waits while activation gradients are being watched, so the two do not interrupt each other.
        if (nonFinite && _options.Anomaly && !HasCode(TrainingCodes.AnomalyTrace.Code) && _pendingBackward is null && !watchGradients)
            _anomalyArmed = true;
        _recorder?.OnStep(step);
        // The memory timeline goes to the run's sinks (run log, TensorBoard) beside the step record.
        if (_recorder is not null && _leakWatch?.LastStep is { } memory && memory.Step == Step) _sinks.Emit(new ObservationEvent(memory));
    }

    /// <summary>
    /// A candidate finding: a rule that holds at this sampled step but needs more sampled steps to persist, for a
    /// (code, module) not reported yet. The schedule then samples the next steps, so persistence is decided within a few
    /// steps instead of a few intervals.
    /// </summary>
    private void SuspectCandidates(StepObservations step)
    {
        if (_options.Thresholds.Persistence <= 1) return;
        var loose = _options.Thresholds with { Persistence = 1 };
        foreach (var d in _detectors)
        {
            if (d.RunsAfterDivergence) continue;
            foreach (var c in d.Detect(step, History, loose))
            {
                var key = OncePerRun.Contains(c.Code) ? (c.Code, (string?)null) : (c.Code, c.Module);
                if (_counts.ContainsKey(key) || _options.Suppress.Contains(c.Code) || _options.Suppress.Contains(c.Slug)) continue;
                _schedule!.Suspect(Step, $"candidate {c.Slug}{(c.Module is null ? "" : " at " + c.Module)}");
                return;
            }
        }
    }

    /// <summary>
    /// Hands the doctor what you measured at the end of an epoch (or of any evaluation): the training loss and, when
    /// measured, the validation loss and accuracies (in [0, 1]) or any named metric. The learning rate is read from the
    /// optimizer. Runs the curve rules (overfitting, slow convergence, plateau, oscillation, LR) over the bounded history.
    /// </summary>
    public void EndEpoch(double trainLoss, double? valLoss = null, double? trainAccuracy = null, double? valAccuracy = null,
        IReadOnlyDictionary<string, double>? metrics = null)
        => EndEpoch(new EpochRecord
        {
            Epoch = _epoch, TrainLoss = trainLoss, ValLoss = valLoss, TrainAccuracy = trainAccuracy, ValAccuracy = valAccuracy,
            Metrics = metrics ?? new Dictionary<string, double>(),
        });

    /// <summary>Hands the doctor an epoch record (see the other overload); <see cref="EpochRecord.Epoch"/> numbers it.</summary>
    public void EndEpoch(EpochRecord record)
    {
        ObjectDisposedException.ThrowIf(_disposed, this);
        ArgumentNullException.ThrowIfNull(record);
        if (_inStep) EndStep();
        _convergence.EndEpoch(record, HasCode);
        _epoch = record.Epoch + 1;
        var epoch = new EpochObservation(Math.Max(Step, 0), record);
        var ctx = new EpochContext(epoch, o => _sinks.Emit(new ObservationEvent(o)));
        foreach (var m in _monitors) m.OnEndEpoch(ctx);
        _sinks.Emit(new ObservationEvent(epoch));
    }

    /// <summary>
    /// Computes the loss exactly as <c>functional.cross_entropy(output, target)</c> (or the function <paramref name="kind"/>
    /// names) would, bit-identical, after checking the call: probabilities from a softmax/sigmoid into a loss that expects
    /// logits (named at that module), a target that broadcasts against the output, a label dtype wrong for the loss. It
    /// also tells the curve rules the loss kind and the number of classes (initial loss vs ln C).
    /// </summary>
    public Tensor Loss(Tensor output, Tensor target, LossKind kind)
    {
        ObjectDisposedException.ThrowIf(_disposed, this);
        return _convergence.Loss(output, target, kind, Math.Max(Step, 0));
    }

    /// <summary>The run's curves so far (epoch records, recent step losses with learning rates): the input of <see cref="CurveDetectors"/>.</summary>
    public TrainingCurve Curve => _convergence.Curve;

    /// <summary>Set by <see cref="GradientAccumulator"/> while a group is in progress: carried gradients are then intended.</summary>
    internal bool Accumulating { get => _convergence.Accumulating; set => _convergence.Accumulating = value; }
    internal EarlyStopping? EarlyStopping { get => _convergence.EarlyStopping; set => _convergence.EarlyStopping = value; }

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

    /// <summary>
    /// Findings that follow from a cause already reported in this run, so they are not a second cause with advice of their own:
    /// a NaN loss after a NaN/Inf origin or exploding gradients; a frozen parameter that is missing from the optimizer; update
    /// ratios (whose advice is a learning-rate change) once the gradient flow itself is broken (vanishing, exploding, dead units),
    /// since the ratio then measures the broken gradient, not the learning rate.
    /// </summary>
    private bool IsConsequence(Finding f)
    {
        if (f.Code == TrainingCodes.NonFiniteLoss.Code)
            return HasCode(TrainingCodes.ExplodingGradients.Code) || HasCode(TrainingCodes.NonFiniteForward.Code) || HasCode(TrainingCodes.NonFiniteBackward.Code);
        if (f.Code == TrainingCodes.NonFiniteForward.Code && f.Evidence.TryGetValue("likely operation", out var op) &&
            op.Text.StartsWith("overflow: its input", StringComparison.Ordinal))
            return HasCode(TrainingCodes.ExplodingGradients.Code);
        // Gradient-flow findings about parameters the optimizer never updates describe a layer that cannot learn at all.
        if (f.Code is "TD2001" or "TD2002" && f.Module is not null &&
            _findings.Any(x => x.Code == TrainingCodes.NotInOptimizer.Code && x.Evidence.TryGetValue("parameters", out var ps) &&
                               ps.Text.Split(", ").Any(p => p.StartsWith(f.Module + ".", StringComparison.Ordinal) && !p[(f.Module.Length + 1)..].Contains('.'))))
            return true;
        if (f.Code == TrainingCodes.FrozenParameter.Code)
            return f.Evidence.TryGetValue("parameter", out var name) &&
                   _findings.Any(x => x.Code == TrainingCodes.NotInOptimizer.Code && x.Evidence.TryGetValue("parameters", out var ps) && ps.Text.Split(", ").Contains(name.Text));
        if (f.Code == TrainingCodes.UpdateRatioLow.Code || f.Code == TrainingCodes.UpdateRatioHigh.Code)
            return HasCode(TrainingCodes.VanishingGradients.Code) || HasCode(TrainingCodes.ExplodingGradients.Code) || HasCode(TrainingCodes.DeadRelu.Code);
        return false;
    }

    private static readonly HashSet<string> OncePerRun =
        [TrainingCodes.NonFiniteForward.Code, TrainingCodes.NonFiniteBackward.Code, TrainingCodes.NonFiniteLoss.Code, TrainingCodes.AnomalyTrace.Code];

    private bool HasCode(string code) => _findings.Any(x => x.Code == code);

    private void Raise(Finding f)
    {
        if (_options.Suppress.Contains(f.Code) || _options.Suppress.Contains(f.Slug)) return;
        if (IsConsequence(f)) return;   // one cause, one finding
        // A parameter frozen because the scheduler decayed the learning rate to nothing: name that cause instead.
        if (CurveDetectors.DecayedLrFreezes(f, _convergence.LearningRate, _convergence.PeakLearningRate, _options.CurveThresholds) is { } decayed) f = decayed;
        // Gradients or updates collapsing under a weight decay that shrinks every weight by a large fraction per step: name that cause.
        if (CurveDetectors.WeightDecayShrinks(f, _convergence.LearningRate, _convergence.WeightDecay, _convergence.OptimizerName, _options.CurveThresholds) is { } shrinking) f = shrinking;
        if (ConvergenceMonitor.IsConsequence(f, HasCode)) return;
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
            if (e is FindingEvent f) doctor._findingRaised?.Invoke(doctor, f.Finding);
        }
    }


    /// <summary>Removes every hook and frees the weight copies.</summary>
    public void Dispose()
    {
        if (_disposed) return;
        _disposed = true;
        _convergence.Dispose();
        foreach (var m in _monitors.OfType<IDisposable>()) m.Dispose();
        DisarmAnomaly();
        _recorder?.Dispose();
        _sinks.Dispose();
    }
}
