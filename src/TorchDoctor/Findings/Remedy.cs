namespace TorchDoctor.Findings;

/// <summary>
/// The kind of fix a finding advises, machine-readable: tools can group findings by remedy and check that one run
/// never gets two findings with opposite advice (<see cref="Remedy.Contradicts"/>). Each catalogue entry declares its
/// default (<see cref="FindingCode.Remedy"/>); a finding may override it (<see cref="Finding.Remedy"/>).
/// </summary>
public enum RemedyKind
{
    /// <summary>Nothing to fix (informational findings).</summary>
    None,
    /// <summary>Lower the learning rate (or give a layer its own smaller one).</summary>
    LowerLearningRate,
    /// <summary>Raise the learning rate.</summary>
    RaiseLearningRate,
    /// <summary>Clip the gradient norm before <c>optimizer.step()</c>.</summary>
    ClipGradients,
    /// <summary>Improve gradient flow: non-saturating activations, matching initialisation, normalisation, residuals.</summary>
    ImproveGradientFlow,
    /// <summary>Change the activation or its initialisation (dead or saturated units).</summary>
    ChangeActivation,
    /// <summary>Add a normalisation layer (BatchNorm/LayerNorm).</summary>
    AddNormalization,
    /// <summary>Guard a numerically unsafe operation (epsilon, clamp, stable form).</summary>
    GuardOperation,
    /// <summary>Put the parameters in the optimizer (or give them a non-zero learning rate).</summary>
    AddToOptimizer,
    /// <summary>Reconnect a parameter or module to the loss (remove detach/no_grad, use the output).</summary>
    ReconnectGradient,
    /// <summary>Call <c>optimizer.zero_grad()</c> every step.</summary>
    AddZeroGrad,
    /// <summary>Call the child with <c>child.call(x)</c> instead of <c>child.forward(x)</c>.</summary>
    UseCall,
    /// <summary>Call the module in forward, or remove it.</summary>
    UseOrRemoveModule,
    /// <summary>Make shapes agree (layer sizes, permute, unsqueeze).</summary>
    FixShape,
    /// <summary>Flatten the features before a Linear layer.</summary>
    Flatten,
    /// <summary>Fix the data pipeline (a failing transform, missing fields, mixed dtypes or shapes).</summary>
    FixDataPipeline,
    /// <summary>Remove or repair bad samples (NaN/Inf, constant fields).</summary>
    CleanData,
    /// <summary>Scale pixels to [0, 1] (divide by 255, convert integer images to float).</summary>
    ScaleInputs,
    /// <summary>Normalise inputs with the data set's mean and std.</summary>
    NormalizeInputs,
    /// <summary>Permute channels-last images to channels-first.</summary>
    PermuteChannels,
    /// <summary>Fix the labels (dtype, range).</summary>
    FixLabels,
    /// <summary>Rebalance classes (weights, sampler).</summary>
    RebalanceClasses,
    /// <summary>Remove duplicates or samples shared between splits.</summary>
    Deduplicate,
    /// <summary>Shuffle the training data.</summary>
    Shuffle,
    /// <summary>Change loader settings (batch size, drop_last, workers).</summary>
    ChangeLoader,
    /// <summary>Fix the C# port's structure or computation.</summary>
    FixPort,
    /// <summary>Map or fix the state_dict keys, shapes or dtypes.</summary>
    FixWeights,
    /// <summary>Regularise (weight decay, dropout, augmentation, early stopping, more data).</summary>
    AddRegularization,
    /// <summary>Change the learning-rate schedule (warmup, decay, restarts).</summary>
    AdjustSchedule,
    /// <summary>Fix the initialisation (scale, output layer bias).</summary>
    FixInitialization,
    /// <summary>Give the loss what it expects (logits vs probabilities, target shape and dtype).</summary>
    FixLossInputs,
    /// <summary>Call <c>model.train()</c>/<c>model.eval()</c> at the right places.</summary>
    SetTrainEvalMode,
    /// <summary>Evaluate under <c>torch.no_grad()</c>.</summary>
    DisableGradInEval,
    /// <summary>Lower the optimizer's weight decay.</summary>
    ReduceWeightDecay,
    /// <summary>Clip at a max_norm near the measured gradient norms (or stop rescaling the gradients).</summary>
    LoosenGradientClipping,
}

/// <summary>Relations between remedies.</summary>
public static class Remedy
{
    private static readonly (RemedyKind A, RemedyKind B)[] Opposites =
    [
        (RemedyKind.LowerLearningRate, RemedyKind.RaiseLearningRate),
        (RemedyKind.ReduceWeightDecay, RemedyKind.AddRegularization),
        (RemedyKind.LoosenGradientClipping, RemedyKind.ClipGradients),
    ];

    /// <summary>True when following <paramref name="remedy"/> undoes <paramref name="other"/> (e.g. lower vs raise the learning rate).</summary>
    public static bool Contradicts(this RemedyKind remedy, RemedyKind other)
        => Opposites.Any(p => p.A == remedy && p.B == other || p.B == remedy && p.A == other);
}
