using System.Globalization;
using TorchDoctor.Detectors;
using TorchDoctor.Findings;
using TorchDoctor.Inspection;
using TorchDoctor.Observations;
using TorchDoctor.Probes;
using TorchSharp;
using static TorchSharp.torch;
using Module = TorchSharp.torch.nn.Module;

namespace TorchDoctor.Training;

/// <summary>
/// The doctor's convergence and loop monitor: it owns the loop probe (evaluation forwards, train/eval mode, the
/// forgotten-zero_grad witness, the loss input's producer), the run's curves (step losses with the optimizer's learning
/// rate, epoch records) and the loss-call observations, and turns them into findings through the pure detectors
/// (<see cref="CurveDetectors"/>, <see cref="LossCallDetector"/>). Plugged into the doctor's moments: begin step, after
/// backward, end step, end of epoch, loss call.
/// </summary>
internal sealed class ConvergenceMonitor : IDisposable
{
    /// <summary>Codes that are consequences of a loop mistake or of an LR named too high: not reported once their cause is.</summary>
    internal static readonly HashSet<string> CurveSymptoms =
    [
        ConvergenceCodes.Divergence.Code, ConvergenceCodes.RisingLoss.Code, ConvergenceCodes.Oscillation.Code,
        ConvergenceCodes.Plateau.Code, ConvergenceCodes.SlowConvergence.Code, ConvergenceCodes.LearningRateTooHigh.Code,
        ConvergenceCodes.LearningRateTooLow.Code, ConvergenceCodes.LearningRateDecayed.Code, ConvergenceCodes.WeightDecayTooHigh.Code,
        ConvergenceCodes.NoGeneralization.Code, ConvergenceCodes.Overfitting.Code,
        TrainingCodes.ExplodingGradients.Code, TrainingCodes.UpdateRatioHigh.Code, TrainingCodes.UpdateRatioLow.Code,
    ];

    /// <summary>
    /// True when <paramref name="f"/> is a consequence of a cause already reported: curve symptoms and gradient/update
    /// symptoms after a loop mistake or a wrong loss call; dead units, saturation and vanishing gradients after carried-over
    /// gradients, probabilities into a logit loss or a batch-mixing reshape; "raise the LR" (update-ratio-low, lr-too-low) after lr-too-high.
    /// </summary>
    public static bool IsConsequence(Finding f, Func<string, bool> hasCode)
    {
        bool loopMistake = hasCode(ConvergenceCodes.GradNotZeroed.Code) || hasCode(ConvergenceCodes.TrainInEvalMode.Code) ||
                           hasCode(ConvergenceCodes.ProbabilitiesIntoLogitLoss.Code) || hasCode(ConvergenceCodes.TargetBroadcast.Code) ||
                           hasCode(ConvergenceCodes.NllLossWithoutLogSoftmax.Code);
        if (loopMistake && CurveSymptoms.Contains(f.Code)) return true;
        // Gradients summed over every earlier step, or squashed by a softmax/sigmoid before a logit loss, distort the
        // gradient flow itself: dead units, saturation and vanishing gradients then measure the loop mistake, not the model
        // (the no-zero-grad demo: relu1–3 "dead" at step 39, after grad-not-zeroed at step 1).
        if ((hasCode(ConvergenceCodes.GradNotZeroed.Code) || hasCode(ConvergenceCodes.ProbabilitiesIntoLogitLoss.Code) ||
             hasCode(ConvergenceCodes.BatchMixing.Code) || hasCode(ConvergenceCodes.NllLossWithoutLogSoftmax.Code)) &&
            f.Code is "TD2001" or "TD2003" or "TD2004") return true;
        // nll_loss on raw scores drives the loss below zero without bound: the weights, gradients and update ratios that grow
        // with it are its symptoms.
        if (hasCode(ConvergenceCodes.NllLossWithoutLogSoftmax.Code) && f.Code is "TD2002" or "TD2009") return true;
        // Overconfident initial logits (initial-loss-high) scale every gradient that flows back from the output: in the first
        // 100 steps, exploding/vanishing gradients, dead units, saturation and update ratios measure that init (the
        // bad-init-loss demo: first/last gradient ratio 87× at step 30, relu "dead" at step 7, both gone with the fix).
        if (hasCode(ConvergenceCodes.InitialLossHigh.Code) && f.Step is null or <= 100 &&
            f.Code is "TD2001" or "TD2002" or "TD2003" or "TD2004" or "TD2009" or "TD2010") return true;
        if (hasCode(ConvergenceCodes.LearningRateTooHigh.Code) && (f.Code == TrainingCodes.UpdateRatioLow.Code || f.Code == ConvergenceCodes.LearningRateTooLow.Code)) return true;
        // update-ratio-low (per step, from the weights) and lr-too-low (per epoch, from the curve) name one cause: the first keeps it.
        if (f.Code == ConvergenceCodes.LearningRateTooLow.Code && hasCode(TrainingCodes.UpdateRatioLow.Code)) return true;
        if (f.Code == TrainingCodes.UpdateRatioLow.Code && hasCode(ConvergenceCodes.LearningRateTooLow.Code)) return true;
        // Memorising labels that do not generalise (no-generalization) is what its later overfitting or oscillation measures.
        if (hasCode(ConvergenceCodes.NoGeneralization.Code) && (f.Code == ConvergenceCodes.Overfitting.Code || f.Code == ConvergenceCodes.Oscillation.Code)) return true;
        // Weights collapsing under a weight decay that shrinks them every step: their vanishing gradients and out-of-scale update
        // ratios (large relative to a tiny norm, or tiny) measure the decay.
        if (hasCode(ConvergenceCodes.WeightDecayTooHigh.Code) && f.Code is "TD2001" or "TD2009" or "TD2010") return true;
        // Gradients scaled down before the step (a tiny clip) make updates tiny and the loss stall: "raise the LR" would be wrong.
        if (hasCode(TrainingCodes.GradientsRescaled.Code) && f.Code is "TD2010" or "TD2104" or "TD2102" or "TD2106") return true;
        // A loss that diverges, rises or oscillates after the learning rate was named too high is that cause's symptom.
        // So is "overfitting" read from those distorted curves (the trial's LSTM at lr 0.7: train loss stuck at 0.57, val noisy).
        if (hasCode(ConvergenceCodes.LearningRateTooHigh.Code) && (f.Code == ConvergenceCodes.Divergence.Code || f.Code == ConvergenceCodes.RisingLoss.Code ||
            f.Code == ConvergenceCodes.Oscillation.Code || f.Code == ConvergenceCodes.Overfitting.Code)) return true;
        return false;
    }

    private readonly Module _model;
    private readonly optim.Optimizer? _optimizer;
    private readonly CurveThresholds _t;
    private readonly Action<Finding> _raise;
    private readonly LoopProbe _probe;
    private readonly ModuleHooks _hooks;
    private readonly List<TorchSharp.Modules.Parameter> _params;
    private readonly Window<Observations.StepRecord> _steps;
    private readonly Window<EpochRecord> _epochs;
    private readonly List<double> _initial = [];
    private readonly List<double> _block = [];
    private double? _bestSmoothed;
    private double? _peakLr;
    private LossKind? _lossKind;
    private int? _classes;
    private int _lossChecks;
    /// <summary>Batches whose class-index targets are collected to check the training order (TD3019), then the check runs once.</summary>
    internal const int LabelOrderBatches = 20;
    private readonly List<long> _labels = [];
    private int _labelBatches;
    private long _labelBatchSize;
    private bool _orderChecked;
    private bool _stepped;
    private bool _mixingChecked;
    private bool _disposed;

    public ConvergenceMonitor(Module model, ModuleTree tree, optim.Optimizer? optimizer, CurveThresholds thresholds, int window, Action<Finding> raise)
    {
        _model = model;
        _optimizer = optimizer;
        _t = thresholds;
        _raise = raise;
        _probe = new LoopProbe(tree);
        _hooks = ModuleHooks.Attach(tree.Nodes.Select(n => n.Module), _probe);
        _params = (optimizer?.parameters() ?? model.parameters()).Where(p => p.requires_grad).ToList();
        _steps = new Window<Observations.StepRecord>(Math.Max(window * 50, 1000));
        _epochs = new Window<EpochRecord>(Math.Max(window * 5, 100));
        OptimizerName = optimizer is null ? null : OptimizerNameOf(optimizer);
        _probe.CaptureInput = true;
    }

    /// <summary>The optimizer's type name without an <c>Optimizer</c> suffix, e.g. <c>Adam</c>.</summary>
    public static string OptimizerNameOf(optim.Optimizer o)
    {
        var n = o.GetType().Name;
        return n.EndsWith("Optimizer", StringComparison.Ordinal) && n.Length > 9 ? n[..^9] : n;
    }

    public string? OptimizerName { get; }

    /// <summary>True while the gradient-accumulation helper is in the middle of a group (gradients are carried on purpose).</summary>
    public bool Accumulating { get; set; }
    /// <summary>The early stopping the user attached (<see cref="Training.EarlyStopping"/> given this doctor), or null.</summary>
    public EarlyStopping? EarlyStopping { get; set; }

    /// <summary>
    /// The largest learning rate over the optimizer's param groups (the model's learning rate for the curve rules: it is too
    /// low, or 0, only when every group's is; one group at 0 is a frozen parameter, TD2008), or null without an optimizer.
    /// </summary>
    public double? LearningRate => _optimizer?.ParamGroups.Select(g => (double?)g.LearningRate).Max();

    /// <summary>The highest learning rate seen at the end of a step so far (null before the first step or without an optimizer).</summary>
    public double? PeakLearningRate => _peakLr;

    /// <summary>The run's curves, as the curve detectors see them.</summary>
    public TrainingCurve Curve => new()
    {
        Epochs = _epochs.Items().ToList(),
        Steps = _steps.Items().ToList(),
        InitialLosses = _initial.ToList(),
        BestSmoothedLoss = _bestSmoothed,
        PeakLearningRate = _peakLr,
        LossKind = _lossKind,
        Classes = _classes,
        Optimizer = OptimizerName,
        WeightDecay = WeightDecay,
        Accumulating = Accumulating,
    };

    /// <summary>The largest <c>weight_decay</c> over the optimizer's param groups, or null when the optimizer does not say.</summary>
    public double? WeightDecay => _optimizer?.ParamGroups.Select(OptimizerGroups.WeightDecay).Max();

    public void BeginStep(long step)
    {
        FlushEvaluations();
        _probe.Step = step;
        _probe.Started = true;
        _probe.InStep = true;
        _probe.CarriedGradient = null;
        _probe.GradWitness = _stepped && !Accumulating ? Witness() : null;
    }

    /// <summary>A forward that ran before an AfterBackward without BeginStep was a training forward, not an evaluation.</summary>
    public void ImplicitStep() => _probe.Evaluations.Clear();

    public void AfterBackward(long step)
    {
        _probe.InStep = false;
        if (_probe.TrainInEval is { } tie)
        {
            _probe.TrainInEval = null;
            _raise(Finding.Create(ConvergenceCodes.TrainInEvalMode, null,
                $"Training step {tie.Step} ran with all {tie.Modules} Dropout/BatchNorm module(s) in eval mode: dropout is off and batch-norm statistics are frozen while training.",
                "Call `model.train()` at the start of every epoch (after evaluating with `model.eval()`).",
                new Dictionary<string, string> { ["modules in eval mode"] = tie.Modules.ToString(CultureInfo.InvariantCulture) }, tie.Step));
        }
        if (_probe.CarriedGradient is { } carried && carried > 0 && _probe.GradWitness is not null && !Accumulating)
        {
            var name = WitnessName();
            _raise(Finding.Create(ConvergenceCodes.GradNotZeroed, null,
                $"At step {step} backward started with the previous step's gradients still in place (Σ|grad| of {name} = {TrainingDetectors.F(carried)} before this step's gradient was added): optimizer.zero_grad() is not called, so every step adds to all earlier gradients.",
                "Call `optimizer.zero_grad()` before `loss.backward()` in every step. For intended gradient accumulation use `GradientAccumulator` " +
                "(`var acc = new GradientAccumulator(optimizer, steps: 4, doctor); ... acc.Backward(loss, batchSize); acc.StepIfReady();`), which scales the loss and zeroes after each group.",
                new Dictionary<string, string> { ["witness parameter"] = name, ["carried |grad| sum"] = TrainingDetectors.F(carried) }, step));
        }
        _probe.CarriedGradient = null;
    }

    public void EndStep(long step, double? loss, IReadOnlyList<UpdateObservation> updates, Func<string, bool> hasCode)
    {
        _probe.InStep = false;
        _stepped = true;
        double? lr = LearningRate;
        if (lr is { } l) _peakLr = Math.Max(_peakLr ?? 0, l);
        double? ratio = null;
        var weightRatios = updates.Where(u => u.Rank >= 2 && u.WeightNorm > 0 && double.IsFinite(u.Ratio)).Select(u => u.Ratio).ToList();
        if (weightRatios.Count > 0) ratio = TrainingDetectors.Median(weightRatios);
        if (loss is { } v)
        {
            _steps.Add(new Observations.StepRecord(step, v, lr, ratio));
            if (_initial.Count < 20) _initial.Add(v);
            if (double.IsFinite(v))
            {
                _block.Add(v);
                if (_block.Count == _t.StepBlock)
                {
                    double mean = _block.Average();
                    _bestSmoothed = Math.Min(_bestSmoothed ?? double.PositiveInfinity, mean);
                    _block.Clear();
                    RunCurves(hasCode, stepLevel: true);
                }
            }
        }
        if (!_mixingChecked && _probe.CapturedInput is { } x)
        {
            _mixingChecked = true;
            _probe.CapturedInput = null;
            _probe.Internal = true;
            try
            {
                if (BatchMixingCheck.Run(_model, x, step) is { } f) _raise(f);
            }
            finally
            {
                _probe.Internal = false;
                x.Dispose();
            }
        }
    }

    public void EndEpoch(EpochRecord record, Func<string, bool> hasCode)
    {
        FlushEvaluations();
        var r = record.LearningRate is null && LearningRate is { } lr ? record with { LearningRate = lr } : record;
        if (r.Step is null && _steps.Count > 0) r = r with { Step = _steps.Last.Step };
        _epochs.Add(r);
        RunCurves(hasCode, stepLevel: false);
    }

    private void RunCurves(Func<string, bool> hasCode, bool stepLevel)
    {
        bool loopMistake = hasCode(ConvergenceCodes.GradNotZeroed.Code) || hasCode(ConvergenceCodes.TrainInEvalMode.Code) || hasCode(ConvergenceCodes.BatchMixing.Code) ||
                           hasCode(ConvergenceCodes.ProbabilitiesIntoLogitLoss.Code) || hasCode(ConvergenceCodes.TargetBroadcast.Code);
        foreach (var f in CurveDetectors.Detect(Curve, _t))
        {
            if (loopMistake && CurveSymptoms.Contains(f.Code)) continue;
            if (stepLevel && f.Code is "TD2101") continue;
            if (f.Code == ConvergenceCodes.Overfitting.Code && EarlyStopping is { BestEpoch: >= 0 } stop)
            {
                // The remedy is in place: the run overfits, and early stopping keeps the best epoch's weights.
                _raise(f with
                {
                    Severity = Severity.Info,
                    Message = f.Message + $" EarlyStopping keeps the weights of its best epoch ({stop.BestEpoch}, validation metric {stop.Best:G4}) and stops after {stop.Patience} epochs without improvement.",
                    Advice = "Nothing to add: early stopping handles it (call `stop.RestoreBest()` after the loop). To gain more, regularise: dropout, weight decay (AdamW), more or augmented data.",
                    Remedy = RemedyKind.None,
                });
                continue;
            }
            _raise(f);
        }
    }

    /// <summary>Computes the loss exactly as the functional call would, after recording what it was given.</summary>
    public Tensor Loss(Tensor output, Tensor target, LossKind kind, long step)
    {
        ArgumentNullException.ThrowIfNull(output);
        ArgumentNullException.ThrowIfNull(target);
        _lossKind = kind;
        if (kind is LossKind.CrossEntropy or LossKind.NllLoss && output.dim() >= 2) _classes = (int)output.shape[1];
        if (_lossChecks < 5 || step % 100 == 0)
        {
            _lossChecks++;
            foreach (var f in LossCallDetector.Detect(Observe(output, target, kind, step))) _raise(f);
        }
        if (!_orderChecked) CollectLabels(target, kind, step);
        return kind switch
        {
            LossKind.CrossEntropy => nn.functional.cross_entropy(output, target),
            LossKind.NllLoss => nn.functional.nll_loss(output, target),
            LossKind.BinaryCrossEntropy => nn.functional.binary_cross_entropy(output, target),
            LossKind.BinaryCrossEntropyWithLogits => nn.functional.binary_cross_entropy_with_logits(output, target),
            LossKind.Mse => nn.functional.mse_loss(output, target),
            LossKind.L1 => nn.functional.l1_loss(output, target),
            _ => nn.functional.smooth_l1_loss(output, target),
        };
    }

    /// <summary>
    /// Keeps the class-index targets of the first <see cref="LabelOrderBatches"/> training batches (a bounded copy of longs, read
    /// only) and then checks once whether they come sorted by label (TD3019): batches of one class are what an unshuffled loader
    /// over sorted data gives. Batches of other sizes (a partial last batch) end the collection early.
    /// </summary>
    private void CollectLabels(Tensor target, LossKind kind, long step)
    {
        if (kind is not (LossKind.CrossEntropy or LossKind.NllLoss) || target.dtype != ScalarType.Int64 || target.dim() != 1 || target.numel() < 2 || !_probe.InStep)
            return;
        if (_labelBatchSize != 0 && target.numel() != _labelBatchSize) { FinishLabels(step); return; }
        _labelBatchSize = target.numel();
        using (var scope = NewDisposeScope())
            _labels.AddRange(target.detach().cpu().data<long>().ToArray());
        if (++_labelBatches >= LabelOrderBatches) FinishLabels(step);
    }

    private void FinishLabels(long step)
    {
        _orderChecked = true;
        if (DataDetectors.SortedTrainingBatches(_labels, (int)_labelBatchSize, _labelBatches, step, new DataThresholds()) is { } f) _raise(f);
        _labels.Clear();
        _labels.TrimExcess();
    }

    private LossCallObservation Observe(Tensor output, Tensor target, LossKind kind, long step)
    {
        using var scope = NewDisposeScope();
        using var _ = no_grad();
        var producer = _probe.ProducerOf(output);
        double min = double.NaN, max = double.NaN, rowErr = double.NaN;
        double? targetMean = null;
        if (output.is_floating_point() && output.numel() > 0)
        {
            var d = output.detach();
            var mm = TensorStats.Read(d.min(), d.max());
            (min, max) = (mm[0], mm[1]);
            if (d.dim() >= 2) rowErr = TensorStats.Read((d.sum(1) - 1).abs().max())[0];
        }
        if (target.is_floating_point() && target.numel() > 0) targetMean = TensorStats.Read(target.detach().mean())[0];
        return new LossCallObservation
        {
            Step = step, Kind = kind, OutputShape = output.shape, TargetShape = target.shape,
            OutputDtype = output.dtype.ToString(), TargetDtype = target.dtype.ToString(),
            Producer = producer?.Path, ProducerType = producer?.Type, Min = min, Max = max, MaxRowSumError = rowErr, TargetMean = targetMean,
        };
    }

    private void FlushEvaluations()
    {
        if (_probe.Evaluations.Count == 0) return;
        var evals = _probe.Evaluations.ToList();
        _probe.Evaluations.Clear();
        var inTrain = evals.FirstOrDefault(e => e.TrainingModeModules.Count > 0);
        if (inTrain is not null)
            _raise(Finding.Create(ConvergenceCodes.EvalInTrainMode, inTrain.TrainingModeModules[0],
                $"A forward pass after step {inTrain.AfterStep} (between training steps: an evaluation) ran with {inTrain.TrainingModeModules.Count} of {inTrain.ModeModules} Dropout/BatchNorm module(s) in training mode ({string.Join(", ", inTrain.TrainingModeModules.Take(4))}): dropout dropped units and batch norm used and updated batch statistics.",
                "Call `model.eval()` before evaluating and `model.train()` after it.",
                new Dictionary<string, string> { ["modules in training mode"] = string.Join(", ", inTrain.TrainingModeModules), ["after step"] = inTrain.AfterStep.ToString(CultureInfo.InvariantCulture) }, inTrain.AfterStep));
        var withGrad = evals.Where(e => e.GradEnabled).ToList();
        if (withGrad.Count > 0)
        {
            long bytes = withGrad.Max(e => e.BytesHeld);
            var measured = withGrad.FirstOrDefault(e => e.MeasuredBytes is not null);
            var evidence = new Dictionary<string, string>
            {
                ["bytes held per forward"] = bytes.ToString(CultureInfo.InvariantCulture),
                ["forward passes"] = withGrad.Count.ToString(CultureInfo.InvariantCulture),
            };
            string cost = $"each built an autograd graph holding {FormatBytes(bytes)} of module outputs for nothing";
            if (measured is { MeasuredBytes: { } held, BeyondOutput: { } beyond })
            {
                // The same measurement as InferenceMemory.Measure: native bytes in use after a collection, around the forward.
                evidence["native bytes held per forward (measured)"] = held.ToString(CultureInfo.InvariantCulture);
                evidence["output bytes (what no_grad keeps)"] = measured.OutputBytes.ToString(CultureInfo.InvariantCulture);
                if (measured.InDisposeScope)
                {
                    evidence["bytes beyond the output (measured; graph and the dispose scope's intermediates)"] = beyond.ToString(CultureInfo.InvariantCulture);
                    cost = $"the first one held {FormatBytes(held)} of native memory (measured after a collection; the graph and its dispose scope's intermediates, {FormatBytes(measured.OutputBytes)} of output), " +
                           "and the graph keeps its saved activations alive as long as the output lives, beyond the scope";
                }
                else
                {
                    evidence["bytes no_grad saves per forward (measured)"] = beyond.ToString(CultureInfo.InvariantCulture);
                    cost = $"the first one held {FormatBytes(held)} of native memory (measured after a collection), {FormatBytes(beyond)} of it for a graph nobody uses";
                }
            }
            _raise(Finding.Create(ConvergenceCodes.EvalWithGrad, null,
                $"{withGrad.Count} forward pass(es) after step {withGrad[0].AfterStep} (between training steps: an evaluation) ran with grad mode on: {cost}.",
                "Wrap evaluation in `using (torch.no_grad()) { ... }` (or `torch.inference_mode()`).",
                evidence, withGrad[0].AfterStep));
            _probe.MeasureGradCost = false;
        }
    }

    private static string FormatBytes(long b) => b >= 1 << 20 ? $"{b / 1048576.0:0.0} MiB ({b:N0} bytes)" : b >= 1024 ? $"{b / 1024.0:0.0} KiB ({b:N0} bytes)" : $"{b} bytes";

    private TorchSharp.Modules.Parameter? _witness;
    private TorchSharp.Modules.Parameter? Witness()
    {
        if (_witness is not null) return _witness;
        _witness = _params.Where(p => p.grad is { IsInvalid: false }).OrderBy(p => p.numel()).FirstOrDefault();
        return _witness;
    }

    private string WitnessName()
    {
        foreach (var (name, p) in _model.named_parameters())
            if (_witness is not null && ParamKeys.Identity(p).Equals(ParamKeys.Identity(_witness))) return name;
        return "a parameter";
    }

    public void Dispose()
    {
        if (_disposed) return;
        _disposed = true;
        _hooks.Dispose();
        _probe.CapturedInput?.Dispose();
    }
}
