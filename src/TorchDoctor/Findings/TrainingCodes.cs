namespace TorchDoctor.Findings;

/// <summary>The finding catalogue, range TD2xxx: training runs (gradients, activations, NaN/Inf, updates).</summary>
public static class TrainingCodes
{
    /// <summary>Gradients shrink towards the input until the first layers barely learn.</summary>
    public static readonly FindingCode VanishingGradients = new("TD2001", "vanishing-gradients", Severity.Warning,
        "The gradient reaching the first layers is orders of magnitude smaller than at the last layer.", RemedyKind.ImproveGradientFlow);
    /// <summary>Gradients or loss grow out of range.</summary>
    public static readonly FindingCode ExplodingGradients = new("TD2002", "exploding-gradients", Severity.Error,
        "Gradients grow towards the input, the global gradient norm jumps, or the loss reaches 1e3.", RemedyKind.ClipGradients);
    /// <summary>Most ReLU outputs are zero.</summary>
    public static readonly FindingCode DeadRelu = new("TD2003", "dead-relu", Severity.Warning,
        "At least 70% of a ReLU layer's outputs are ≤ 0 over the window: its units have stopped learning.", RemedyKind.ChangeActivation);
    /// <summary>Sigmoid/tanh inputs are mostly in the flat tails.</summary>
    public static readonly FindingCode SaturatedActivation = new("TD2004", "saturated-activation", Severity.Warning,
        "More than half of a sigmoid/tanh layer's pre-activations are beyond ±5, where its gradient is ~0.", RemedyKind.ChangeActivation);
    /// <summary>The first module whose output is NaN/Inf while its inputs were finite.</summary>
    public static readonly FindingCode NonFiniteForward = new("TD2005", "nonfinite-forward", Severity.Error,
        "A module produced NaN/Inf from finite inputs: the origin of the non-finite values in the forward pass.", RemedyKind.GuardOperation);
    /// <summary>The first module whose incoming gradient is NaN/Inf.</summary>
    public static readonly FindingCode NonFiniteBackward = new("TD2006", "nonfinite-backward", Severity.Error,
        "The backward pass produced NaN/Inf gradients although the forward pass was finite.", RemedyKind.GuardOperation);
    /// <summary>The loss is NaN/Inf.</summary>
    public static readonly FindingCode NonFiniteLoss = new("TD2007", "nonfinite-loss", Severity.Error,
        "The loss is NaN or infinite.", RemedyKind.GuardOperation);
    /// <summary>A trainable parameter with gradients that never changes.</summary>
    public static readonly FindingCode FrozenParameter = new("TD2008", "frozen-parameter", Severity.Warning,
        "A parameter requires and receives gradients but the optimizer never changes it.", RemedyKind.AddToOptimizer);
    /// <summary>Updates too large relative to the weights.</summary>
    public static readonly FindingCode UpdateRatioHigh = new("TD2009", "update-ratio-high", Severity.Warning,
        "‖Δw‖/‖w‖ per step is above 5e-2 for a layer: its learning rate is too high.", RemedyKind.LowerLearningRate);
    /// <summary>Updates too small relative to the weights.</summary>
    public static readonly FindingCode UpdateRatioLow = new("TD2010", "update-ratio-low", Severity.Warning,
        "‖Δw‖/‖w‖ per step is below 1e-5 for a layer: it barely learns at this learning rate.", RemedyKind.RaiseLearningRate);
    /// <summary>A trainable parameter that gets no gradient during training.</summary>
    public static readonly FindingCode UnusedParameter = new("TD2011", "unused-parameter", Severity.Warning,
        "A parameter that requires a gradient received none at several sampled steps.", RemedyKind.ReconnectGradient);
    /// <summary>Trainable parameters missing from the optimizer.</summary>
    public static readonly FindingCode NotInOptimizer = new("TD2012", "not-in-optimizer", Severity.Error,
        "Parameters that require gradients are not in any of the optimizer's parameter groups, so they never train.", RemedyKind.AddToOptimizer);
    /// <summary>Anomaly mode's backward trace for a non-finite gradient.</summary>
    public static readonly FindingCode AnomalyTrace = new("TD2013", "anomaly-trace", Severity.Error,
        "torch.autograd.detect_anomaly, switched on after a non-finite step, named the backward function that produced NaN.", RemedyKind.GuardOperation);
    /// <summary>The optimizer step moved the weights far less than lr × gradient: the gradients were rescaled after backward.</summary>
    public static readonly FindingCode GradientsRescaled = new("TD2014", "gradients-rescaled", Severity.Warning,
        "With SGD every weight moved by under 1% of lr × ‖gradient‖ at consecutive sampled steps: the gradients were scaled down between backward and optimizer.step() (clip_grad_norm_ with a max_norm far below the gradient norms).", RemedyKind.LoosenGradientClipping);
}
