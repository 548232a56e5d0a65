namespace TorchDoctor.Findings;

/// <summary>
/// The finding catalogue, range TD21xx: convergence (loss and metric curves), loss calls, training-loop mistakes and
/// the sanity checks run before training.
/// </summary>
public static class ConvergenceCodes
{
    /// <summary>Validation loss rising while training loss keeps falling.</summary>
    public static readonly FindingCode Overfitting = new("TD2101", "overfitting", Severity.Warning,
        "Validation loss has risen for several epochs since its best epoch while the training loss kept falling.", RemedyKind.AddRegularization);
    /// <summary>Too little improvement per epoch while far from any floor.</summary>
    public static readonly FindingCode SlowConvergence = new("TD2102", "slow-convergence", Severity.Warning,
        "The best per-epoch improvement over a window is below 1% while the loss is still far from a plausible floor.", RemedyKind.RaiseLearningRate);
    /// <summary>A learning rate too high for the optimizer, confirmed by the loss response.</summary>
    public static readonly FindingCode LearningRateTooHigh = new("TD2103", "lr-too-high", Severity.Warning,
        "The learning rate is too high: Adam-family lr > 0.01 with a loss that does not improve, or a loss that blows up with large updates.", RemedyKind.LowerLearningRate);
    /// <summary>A learning rate too low to train.</summary>
    public static readonly FindingCode LearningRateTooLow = new("TD2104", "lr-too-low", Severity.Warning,
        "The learning rate is too low: below 1e-7, or the loss barely moves with tiny weight updates.", RemedyKind.RaiseLearningRate);
    /// <summary>The loss or accuracy swings back and forth.</summary>
    public static readonly FindingCode Oscillation = new("TD2105", "oscillation", Severity.Warning,
        "The loss or accuracy swings up and down: epoch swings ≥ 0.03 in ≥ 20% of epochs, or step-level swings far beyond the smoothed loss.", RemedyKind.LowerLearningRate);
    /// <summary>Improvement stopped after an initial descent.</summary>
    public static readonly FindingCode Plateau = new("TD2106", "plateau", Severity.Info,
        "The training loss improved at first and then stopped improving for a window, at a constant learning rate.", RemedyKind.AdjustSchedule);
    /// <summary>The smoothed loss far above its best value.</summary>
    public static readonly FindingCode Divergence = new("TD2107", "loss-divergence", Severity.Error,
        "The smoothed training loss rose to more than 4× its best value: training diverges.", RemedyKind.LowerLearningRate);
    /// <summary>The training loss keeps rising.</summary>
    public static readonly FindingCode RisingLoss = new("TD2108", "loss-rising", Severity.Warning,
        "The training loss has risen over consecutive epochs (or step blocks): training is going backwards.", RemedyKind.LowerLearningRate);
    /// <summary>A scheduler decayed the learning rate to almost nothing.</summary>
    public static readonly FindingCode LearningRateDecayed = new("TD2109", "lr-decayed", Severity.Warning,
        "The scheduler decayed the learning rate to under 1/1000 of its peak while the loss is far from a floor.", RemedyKind.AdjustSchedule);
    /// <summary>The first loss far above ln C.</summary>
    public static readonly FindingCode InitialLossHigh = new("TD2110", "initial-loss-high", Severity.Warning,
        "The first classification loss is far above ln C (the loss of a uniform prediction): bad initialisation or overconfident logits.", RemedyKind.FixInitialization);
    /// <summary>Probabilities fed to a loss that expects logits.</summary>
    public static readonly FindingCode ProbabilitiesIntoLogitLoss = new("TD2111", "probabilities-into-logit-loss", Severity.Error,
        "The output of a softmax/sigmoid is passed to a loss that applies log-softmax/log-sigmoid itself (cross_entropy, binary_cross_entropy_with_logits).", RemedyKind.FixLossInputs);
    /// <summary>A regression target that broadcasts against the output.</summary>
    public static readonly FindingCode TargetBroadcast = new("TD2112", "target-broadcast", Severity.Error,
        "The target's shape differs from the output's and broadcasts (e.g. [N,1] against [N] gives [N,N]): the loss compares every pair.", RemedyKind.FixShape);
    /// <summary>A label dtype the loss does not expect.</summary>
    public static readonly FindingCode LabelDtype = new("TD2113", "loss-target-dtype", Severity.Error,
        "The target's dtype is wrong for the loss (class indices must be int64; BCE targets floating point).", RemedyKind.FixLabels);
    /// <summary>Evaluation with dropout/batchnorm in training mode.</summary>
    public static readonly FindingCode EvalInTrainMode = new("TD2114", "eval-in-train-mode", Severity.Warning,
        "Forward passes between training steps ran with model.training true: dropout and batch-norm statistics were active during evaluation.", RemedyKind.SetTrainEvalMode);
    /// <summary>Evaluation with grad mode on.</summary>
    public static readonly FindingCode EvalWithGrad = new("TD2115", "eval-with-grad", Severity.Warning,
        "Forward passes between training steps ran with grad mode on: an autograd graph was built and memory held for nothing.", RemedyKind.DisableGradInEval);
    /// <summary>Training steps with the model in eval mode.</summary>
    public static readonly FindingCode TrainInEvalMode = new("TD2116", "train-in-eval-mode", Severity.Warning,
        "Training steps ran with the model (or some of its modules) in eval mode: model.train() was not called again after evaluation.", RemedyKind.SetTrainEvalMode);
    /// <summary>Gradients accumulate across steps without zero_grad.</summary>
    public static readonly FindingCode GradNotZeroed = new("TD2117", "grad-not-zeroed", Severity.Error,
        "Parameter gradients carried over from the previous step: optimizer.zero_grad() is missing (and no accumulation helper is in use).", RemedyKind.AddZeroGrad);
    /// <summary>A reshape/permute that mixes samples across the batch.</summary>
    public static readonly FindingCode BatchMixing = new("TD2118", "batch-mixing", Severity.Error,
        "One sample's output depends on another sample's input (in eval mode): a view/reshape/permute mixes the batch dimension.", RemedyKind.FixShape);
    /// <summary>Raw scores (or probabilities) fed to nll_loss, which expects log-probabilities.</summary>
    public static readonly FindingCode NllLossWithoutLogSoftmax = new("TD2120", "nll-loss-without-log-softmax", Severity.Error,
        "nll_loss receives values above 0 (raw scores or probabilities) where it expects log-probabilities: the loss falls without bound and goes negative.", RemedyKind.FixLossInputs);
    /// <summary>Weight decay so strong that it shrinks the weights faster than the gradients can move them.</summary>
    public static readonly FindingCode WeightDecayTooHigh = new("TD2121", "weight-decay-too-high", Severity.Warning,
        "The loss is stalled while the weights move by large steps and lr × weight_decay shrinks every weight by ≥ 0.1% per step: the weight decay undoes the training.", RemedyKind.ReduceWeightDecay);
    /// <summary>Validation accuracy at chance while training learns.</summary>
    public static readonly FindingCode NoGeneralization = new("TD2122", "no-generalization", Severity.Warning,
        "Validation accuracy stays at chance (1/C) for several epochs while the training accuracy or loss improves: inputs and labels are not paired, or the splits differ.", RemedyKind.FixLabels);
    /// <summary>The model cannot overfit a single batch.</summary>
    public static readonly FindingCode OneBatchOverfitFailed = new("TD2119", "one-batch-overfit-failed", Severity.Warning,
        "Trained on one fixed batch, the loss did not fall below a fifth of its start: the model, loss or optimizer cannot learn.", RemedyKind.FixLossInputs);
}
