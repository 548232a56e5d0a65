using TorchDoctor.Detectors;
using TorchDoctor.Findings;
using TorchDoctor.Observations;
using Xunit;

namespace TorchDoctor.Tests.Convergence;

/// <summary>
/// The rules a new user's trial (2026-11-30, six ordinary bugs and their fixed twins) found missing or wrong, at their
/// boundaries: near-zero losses are noise, nll_loss on raw scores, an LR of exactly 0, weight decay that shrinks the
/// weights, validation at chance while training learns.
/// </summary>
public class TrialRuleTests
{
    private static readonly CurveThresholds T = new();

    private static TrainingCurve Epochs(double[] train, double[]? val = null, double[]? trainAcc = null, double[]? valAcc = null,
        LossKind? kind = null, int? classes = null, double[]? initial = null)
        => new()
        {
            Epochs = train.Select((l, i) => new EpochRecord
            {
                Epoch = i, TrainLoss = l, ValLoss = val?[i], TrainAccuracy = trainAcc?[i], ValAccuracy = valAcc?[i], Step = (i + 1) * 32L,
            }).ToList(),
            LossKind = kind, Classes = classes, InitialLosses = initial ?? [],
        };

    [Fact]
    public void Converged_runs_do_not_overfit_rise_or_oscillate_on_noise()
    {
        // Validation rising 30% over its best while training falls: overfitting at the problem's scale (first step loss 1.0) ...
        double[] train = [2, 0.14, 0.12, 0.1, 0.08, 0.06];
        double[] val = [2.2, 0.23, 0.24, 0.26, 0.28, 0.30];
        Assert.NotNull(CurveDetectors.Overfitting(Epochs(train, val, initial: [1.0]), T));
        // ... but not a thousand times smaller: the clip-norm twin converged in its first epoch and its gap moved by 1e-4 at
        // 100% accuracy, under 1% of where the run started.
        Assert.Null(CurveDetectors.Overfitting(Epochs(train.Select(x => x * 1e-3).ToArray(), val.Select(x => x * 1e-3).ToArray(), initial: [1.0]), T));
        // Validation below training at the end is not overfitting, whatever the rise (a first epoch's mean is inflated).
        Assert.Null(CurveDetectors.Overfitting(Epochs([1.47, 0.3, 0.2, 0.1, 0.049], [0.03, 0.035, 0.04, 0.045, 0.0425]), T));
        // The weight-decay twin: three rises of a loss at 8e-6, far below where it started (0.5): settled, not rising.
        Assert.Null(CurveDetectors.RisingLoss(Epochs([0.5, 1e-5, 8.1e-6, 8.9e-6, 9.4e-6, 9.9e-6]), T));
        Assert.NotNull(CurveDetectors.RisingLoss(Epochs([0.5, 0.1, 0.15, 0.2, 0.25]), T));   // back above 25% of the start: judged
        // An LSTM at its noise floor: validation loss 0.0113 ↔ 0.0131 after starting at 1.2.
        Assert.Null(CurveDetectors.Oscillation(Epochs([1.2, 0.02, 0.015, 0.013, 0.012, 0.012], [1.1, 0.0113, 0.0131, 0.0113, 0.0131, 0.0113]), T));
    }

    [Fact]
    public void Validation_at_chance_while_training_learns_is_no_generalization_not_oscillation()
    {
        // Shuffled labels, 5 classes: validation accuracy 0.10–0.20 (chance 0.2), training accuracy up to 0.31.
        double[] loss = [1.62, 1.60, 1.58, 1.55, 1.52, 1.50];
        double[] valAcc = [0.2, 0.1, 0.2, 0.12, 0.2, 0.15];
        double[] trainAcc = [0.2, 0.22, 0.25, 0.27, 0.29, 0.31];
        var c = Epochs(loss, loss.Select(x => x + 0.05).ToArray(), trainAcc, valAcc, LossKind.CrossEntropy, 5);
        Assert.Null(CurveDetectors.Oscillation(c, T));   // swings at chance are noise
        var f = CurveDetectors.NoGeneralization(c, T);
        Assert.NotNull(f);
        Assert.Equal(ConvergenceCodes.NoGeneralization.Code, f!.Code);
        Assert.Contains("best 0.2; chance 1/5 = 0.2", f.Message);
        Assert.Contains("randperm", f.Advice);
        Assert.DoesNotContain(CurveDetectors.Detect(c), x => x.Code == ConvergenceCodes.Overfitting.Code);
        // Boundaries: validation 0.05 above chance still counts; 0.26 does not; training must have learned (≥ chance + 0.10).
        Assert.NotNull(CurveDetectors.NoGeneralization(c with { Epochs = [.. c.Epochs.Select((e, i) => i == 3 ? e with { ValAccuracy = 0.25 } : e)] }, T));
        Assert.Null(CurveDetectors.NoGeneralization(c with { Epochs = [.. c.Epochs.Select((e, i) => i == 3 ? e with { ValAccuracy = 0.26 } : e)] }, T));
        Assert.Null(CurveDetectors.NoGeneralization(c with { Epochs = [.. c.Epochs.Select(e => e with { TrainAccuracy = Math.Min(e.TrainAccuracy!.Value, 0.29) })] }, T));
        Assert.Null(CurveDetectors.NoGeneralization(c with { Classes = null }, T));   // chance unknown: no claim
    }

    [Fact]
    public void A_learning_rate_of_zero_is_named_at_once()
    {
        // A LambdaLR in integer arithmetic: lr 1e-3, then 0 from step 32.
        var steps = Enumerable.Range(0, 60).Select(i => new StepRecord(i, 1.0, i < 32 ? 1e-3 : 0)).ToList();
        var f = CurveDetectors.LearningRateTooLow(new TrainingCurve { Steps = steps, PeakLearningRate = 1e-3 }, T);
        Assert.NotNull(f);
        Assert.Equal(ConvergenceCodes.LearningRateDecayed.Code, f!.Code);
        Assert.Contains("The learning rate is 0 since step 32 (its peak was 0.001)", f.Message);
        Assert.Contains("(double)epochs", f.Advice);
        // A linear decay that reaches 0 at the run's last step is not a stopped run: training must go on at 0 for a block of steps.
        var decay = Enumerable.Range(0, 100).Select(i => new StepRecord(i, 1.0, 1e-3 * (99 - i) / 99)).ToList();
        Assert.Null(CurveDetectors.LearningRateTooLow(new TrainingCurve { Steps = decay, PeakLearningRate = 1e-3 }, T));
        Assert.Null(CurveDetectors.LearningRateTooLow(new TrainingCurve { Steps = steps.Take(41).ToList(), PeakLearningRate = 1e-3 }, T));   // 9 steps at 0
        Assert.NotNull(CurveDetectors.LearningRateTooLow(new TrainingCurve { Steps = steps.Take(42).ToList(), PeakLearningRate = 1e-3 }, T));   // 10
        // 0 from the start: too low, not decayed. A small positive decayed LR is left to the stall rule.
        Assert.Equal(ConvergenceCodes.LearningRateTooLow.Code, CurveDetectors.LearningRateTooLow(new TrainingCurve { Steps = [new StepRecord(0, 1.0, 0)] }, T)!.Code);
        Assert.Null(CurveDetectors.LearningRateTooLow(new TrainingCurve { Steps = [new StepRecord(0, 1.0, 1e-8)], PeakLearningRate = 1e-3 }, T));
    }

    [Fact]
    public void Weight_decay_that_shrinks_every_weight_is_named_instead_of_its_symptoms()
    {
        var vanishing = Finding.Create(TrainingCodes.VanishingGradients, "conv1", "Gradients vanish towards the input.", "a", step: 135);
        // SGD lr 0.05 × weight_decay 0.5 = 0.025 per step (threshold 1e-3).
        var f = CurveDetectors.WeightDecayShrinks(vanishing, 0.05, 0.5, "SGD", T);
        Assert.NotNull(f);
        Assert.Equal(ConvergenceCodes.WeightDecayTooHigh.Code, f!.Code);
        Assert.Contains("shrinks every weight by 2.5% per step", f.Message);
        Assert.Contains("weight_decay: 5e-4", f.Advice);
        Assert.Null(CurveDetectors.WeightDecayShrinks(vanishing, 0.1, 5e-4, "SGD", T));    // 5e-5 per step: usual
        Assert.Null(CurveDetectors.WeightDecayShrinks(vanishing, 0.05, 0.019, "SGD", T));  // 9.5e-4: below
        Assert.NotNull(CurveDetectors.WeightDecayShrinks(vanishing, 0.05, 0.02, "SGD", T)); // 1e-3: at the boundary
        // AdamW at lr 0.1 with a usual weight_decay 0.01 reaches 1e-3 through its LR: the LR's finding, not the decay's.
        Assert.Null(CurveDetectors.WeightDecayShrinks(vanishing, 0.1, 0.01, "AdamW", T));
        Assert.NotNull(CurveDetectors.WeightDecayShrinks(vanishing, 1e-3, 1.0, "AdamW", T));
        Assert.True(ConvergenceCodes.WeightDecayTooHigh.Remedy.Contradicts(ConvergenceCodes.Overfitting.Remedy));
        // The stall rule: the loss stuck near ln C with large updates is not "lr too low"; with that decay it is the decay.
        double[] flat = [1.61, 1.609, 1.608, 1.607, 1.606, 1.605, 1.604];
        var stalled = Epochs(flat, kind: LossKind.CrossEntropy, classes: 5) with
        {
            Steps = [new StepRecord(200, 1.6, 0.05, 0.145)], WeightDecay = 0.5, Optimizer = "SGD",
        };
        Assert.Equal(ConvergenceCodes.WeightDecayTooHigh.Code, CurveDetectors.Stalled(stalled, T)!.Code);
        Assert.NotEqual(ConvergenceCodes.LearningRateTooLow.Code, CurveDetectors.Stalled(stalled with { WeightDecay = 0 }, T)?.Code);
    }

    [Fact]
    public void Nll_loss_on_raw_scores_is_named_at_the_layer_that_made_them()
    {
        LossCallObservation Call(double min, double max, string? producer = "fc2", string? type = "Linear") => new()
        {
            Step = 0, Kind = LossKind.NllLoss, OutputShape = [64, 10], TargetShape = [64], OutputDtype = "Float32", TargetDtype = "Int64",
            Producer = producer, ProducerType = type, Min = min, Max = max,
        };
        var f = LossCallDetector.NllInput(Call(-4.1, 3.2));
        Assert.NotNull(f);
        Assert.Equal(("TD2120", "fc2"), (f!.Code, f.Module));
        Assert.Contains("reach 3.2: raw scores", f.Message);
        Assert.Contains("log_softmax(logits, 1)", f.Advice);
        Assert.Null(LossCallDetector.NllInput(Call(-9.5, -0.01)));   // log-probabilities: fine
        Assert.Contains("probabilities", LossCallDetector.NllInput(Call(0.01, 0.9, "softmax", "Softmax"))!.Message);
        // A loss falling below zero without bound is improving, not exploding.
        var h = new TrainingHistory();
        for (int i = 0; i < 20; i++) h.Add(new StepObservations { Step = i, Loss = -1.5 * Math.Pow(1.5, i) });
        Assert.False(GradientFlowDetector.LossNotImproving(h, new DetectorThresholds()));
    }

    private static List<Finding> RescaleRun(double factor, double? sgdLr = 0.05)
    {
        var h = new TrainingHistory();
        var found = new List<Finding>();
        foreach (long step in new long[] { 0, 1, 2, 3 })
        {
            var s = new StepObservations
            {
                Step = step, Sampled = true, GlobalGradNorm = 1.5,
                Updates = [.. new[] { "fc1", "fc2" }.Select(m => new UpdateObservation(step, m + ".weight", m, 2, (sgdLr ?? 1e-3) * 1.5 * factor, 3.0, true, true, 1.5) { SgdLearningRate = sgdLr })],
            };
            h.Add(s);
            if (ParameterDetector.Rescaled(s, h, new DetectorThresholds()) is { } f) found.Add(f);
        }
        return found;
    }

    [Fact]
    public void Sgd_steps_far_below_lr_times_gradient_mean_rescaled_gradients()
    {
        // The trial's clip_grad_norm_ to 1e-3 with gradient norms of ~1.5: every step scaled by ~7e-4.
        var f = RescaleRun(7e-4);
        Assert.NotEmpty(f);
        Assert.Equal(2, f[0].Step);   // after 3 sampled steps in a row
        Assert.Equal(TrainingCodes.GradientsRescaled.Code, f[0].Code);
        Assert.Contains("every weight moved by at most 7e-4 of lr × ‖g‖", f[0].Message);
        Assert.Contains("scaled down ~1428.5714×", f[0].Message);
        Assert.Contains("max_norm: 2", f[0].Advice);
        Assert.Empty(RescaleRun(0.0101));   // boundary: 1% of lr × ‖g‖
        Assert.NotEmpty(RescaleRun(0.0099));
        Assert.Empty(RescaleRun(1.0));      // a plain SGD step
        Assert.Empty(RescaleRun(7e-4, sgdLr: null));   // Adam: steps do not scale with ‖g‖
        Assert.True(TrainingCodes.GradientsRescaled.Remedy.Contradicts(TrainingCodes.ExplodingGradients.Remedy));
    }
}
