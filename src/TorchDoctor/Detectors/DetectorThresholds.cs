namespace TorchDoctor.Detectors;

/// <summary>
/// Thresholds of the training detectors, with where each default comes from. Change them through
/// <c>DoctorOptions.Thresholds</c>.
/// </summary>
public sealed record DetectorThresholds
{
    /// <summary>Vanishing: ‖g_first‖/‖g_last‖ below this (AutoTrainer, Zhang et al., ICSE 2021).</summary>
    public double VanishingRatio { get; init; } = 1e-3;
    /// <summary>Vanishing: and ‖g_first‖ below this (AutoTrainer).</summary>
    public double VanishingFirstNorm { get; init; } = 1e-4;
    /// <summary>Vanishing: any layer's mean |dW| below this (DeepDiagnosis, Wardat et al., ICSE 2022).</summary>
    public double VanishingMeanAbs { get; init; } = 1e-7;
    /// <summary>Exploding: ‖g_first‖/‖g_last‖ above this (AutoTrainer).</summary>
    public double ExplodingRatio { get; init; } = 70;
    /// <summary>Exploding: loss at or above this (AutoTrainer).</summary>
    public double ExplodingLoss { get; init; } = 1e3;
    /// <summary>Exploding: global gradient norm above this multiple of its window median (TorchDoctor; needs 5 samples).</summary>
    public double GradNormGrowth { get; init; } = 10;
    /// <summary>Exploding: the persistent-jump rule also needs the jumped norms at or above this absolute value. A converged model's
    /// norm may go from 6e-4 to 0.02 for a while (measured on the corpus's clean StepLR program); that is not an explosion.</summary>
    public double ExplodingGradNormFloor { get; init; } = 1.0;
    /// <summary>Exploding: the persistent-jump rule also needs a loss that is not improving: the mean of the last 5 losses at
    /// least this multiple of the best earlier 5-step mean (a healthy run's norms grow while its loss falls).</summary>
    public double ExplodingLossRise { get; init; } = 1.25;
    /// <summary>Exploding: a global gradient norm at or above this (TorchDoctor; healthy nets here stay below ~50).</summary>
    public double ExplodingGradNorm { get; init; } = 1e4;
    /// <summary>Dead ReLU: fraction of outputs ≤ 0, averaged over the window (DeepDiagnosis).</summary>
    public double DeadReluFraction { get; init; } = 0.7;
    /// <summary>Dead ReLU: the sampled steps at or above <see cref="DeadReluFraction"/> must also span at least this many training
    /// steps (or fill the whole history window). A dead unit gets no gradient and cannot recover, so a dead layer stays off;
    /// the first updates of a healthy run can push a layer past 70% for a few steps before it recovers (measured on the corpus's
    /// tune split: a CNN with SGD momentum went to 82% at relu1 between steps 10 and 25, back to 55% by step 33).</summary>
    public int DeadReluMinSteps { get; init; } = 20;
    /// <summary>
    /// Dead ReLU: besides the run of mostly-zero steps, at least this fraction of the layer's units must have fired for no
    /// sample of any batch in that run (<see cref="Observations.ActivationObservation.NeverFiredFraction"/>): a dead unit
    /// never fires (Lu et al. 2019, "Dying ReLU"); the fraction is DeepDiagnosis's 70%, applied to units. A sparse layer is not
    /// dead: the demo CNN's fc1 ReLU with Adam 1e-3 stays at 71–76% zeros for its whole healthy run (loss 2.31 → 0.36 in 120
    /// steps), 70% of its units silent for a whole batch of 64, yet all but 5% fire for some batch by step 45; over the 9
    /// sampled batches of 32 the default schedule gives it by step 38, 52% never fired. Dead layers in the corpus and the demo
    /// have 100% of units silent.
    /// </summary>
    public double DeadReluUnitFraction { get; init; } = 0.7;
    /// <summary>Dead ReLU: a run of sampled steps whose outputs are on average at least this fraction zero is a finding even when its
    /// units take turns (a ReLU after a regression output: 92% of predictions clamped to 0 while one unit fires now and then).</summary>
    public double DeadReluOutputFraction { get; init; } = 0.9;
    /// <summary>Saturation: fraction of pre-activations beyond <see cref="SaturationLimit"/> (issue spec; a sigmoid's slope at 5 is 0.0066).</summary>
    public double SaturationFraction { get; init; } = 0.5;
    /// <summary>Saturation: the pre-activation magnitude that counts as saturated.</summary>
    public double SaturationLimit { get; init; } = 5;
    /// <summary>Update ratio above this per step is too high. A healthy ratio is ~1e-3 (Karpathy, CS231n notes); the
    /// issue asks for "far above 1e-2": 5e-2, since healthy SGD/Adam runs measured here reach 1–2e-2 (docs/detectors.md).</summary>
    public double UpdateRatioHigh { get; init; } = 5e-2;
    /// <summary>Update ratio below this per step (and above 0) is too low.</summary>
    public double UpdateRatioLow { get; init; } = 1e-5;
    /// <summary>Conditions on gradients, activations and updates must hold at this many consecutive sampled steps.</summary>
    public int Persistence { get; init; } = 3;
    /// <summary>Update ratio low claims the layer "barely learns": only when the loss agrees, i.e. over the loss window it fell by
    /// less than this fraction (later half against earlier half)…</summary>
    public double StalledLossDrop { get; init; } = 0.05;
    /// <summary>…and it is still above this fraction of the initial loss (a converged run has tiny gradients and tiny updates
    /// because it has learned, and raising the learning rate would be wrong).</summary>
    public double StalledLossFraction { get; init; } = 0.5;
    /// <summary>Update-ratio rules ignore the first steps, while the optimizer's moments settle (Adam's first steps move every weight by ~lr).</summary>
    public int UpdateRatioWarmupSteps { get; init; } = 100;
    /// <summary>
    /// Gradients rescaled (SGD): every weight's ‖Δw‖ below this fraction of lr × ‖g‖ (g as measured after backward) at
    /// <see cref="Persistence"/> sampled steps. SGD moves a weight by lr × g (momentum: up to 1/(1 − μ) times that; a gradient
    /// that flips sign every step still gives 1/(1 + μ)); the trial's clip_grad_norm_ to 1e-3 with gradient norms of ~1.5 gave
    /// ~7e-4. Default 0.01.
    /// </summary>
    public double RescaledUpdateFraction { get; init; } = 0.01;
}
