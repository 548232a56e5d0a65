namespace TorchDoctor.Detectors;

/// <summary>
/// Thresholds of the curve detectors (<see cref="CurveDetectors"/>), with where each default comes from
/// (docs/detectors.md, "Curves"). Change them through <c>DoctorOptions.CurveThresholds</c>.
/// </summary>
public sealed record CurveThresholds
{
    /// <summary>Overfitting: epochs since the best validation loss before it counts (Keras/Lightning early-stopping patience is commonly 3–10; 3 here).</summary>
    public int OverfitPatience { get; init; } = 3;
    /// <summary>Overfitting: relative rise of the validation loss above its best (5%: above epoch-to-epoch noise of a healthy run).</summary>
    public double OverfitMinRise { get; init; } = 0.05;
    /// <summary>
    /// Overfitting: the latest val − train gap, and the rise of the validation loss above its best, must each exceed this
    /// fraction of the problem's scale (the largest of the first epoch's validation loss, the first step loss and ln C). Below it the change is a converged run's jitter: a new user's correct
    /// programs at 100% validation accuracy were called overfitting for gaps of 8.6e-5 → 1.7e-4 (2026-11-30 trial).
    /// </summary>
    public double OverfitMinAbsolute { get; init; } = 0.01;
    /// <summary>
    /// Oscillation of an accuracy is not judged while the accuracy never rose more than this above chance (1/C, when the
    /// classes are known): a model that predicts nothing swings by sampling noise (the trial's shuffled labels: validation
    /// accuracy 0.10–0.20 for 5 classes was called oscillation, with "lower the learning rate").
    /// </summary>
    public double ChanceMargin { get; init; } = 0.05;
    /// <summary>
    /// Weight decay too high: lr × weight_decay at or above this, the fraction by which decay alone shrinks every weight per
    /// step. Usual settings are 20–100× below it (SGD lr 0.1 × 5e-4 = 5e-5; AdamW 1e-3 × 0.01 = 1e-5); the trial's
    /// weight_decay 0.5 (meant: 5e-4) at lr 0.05 gave 0.025 and collapsed every weight to a norm of ~1e-6.
    /// </summary>
    public double MaxDecayPerStep { get; init; } = 1e-3;
    /// <summary>Overfitting (gap form): the val − train gap grew at least this many times since the best epoch.</summary>
    public double OverfitGapGrowth { get; init; } = 2;
    /// <summary>Slow convergence: the best per-epoch gain (accuracy, or relative loss decrease) below this (AutoTrainer, Zhang et al. ICSE 2021: 0.01).</summary>
    public double SlowGain { get; init; } = 0.01;
    /// <summary>Slow convergence / plateau: epochs in the window whose gains are compared.</summary>
    public int SlowWindow { get; init; } = 5;
    /// <summary>"Far from a floor": the train loss is still above this fraction of its reference (ln C for a classification loss, else the first loss).</summary>
    public double FarFromFloor { get; init; } = 0.5;
    /// <summary>A scheduler decayed the LR below this fraction of its peak.</summary>
    public double DecayedLrFraction { get; init; } = 1e-3;
    /// <summary>LR too high: Adam-family learning rate above this (UMLAUT, Schoop et al. CHI 2021).</summary>
    public double AdamMaxLr { get; init; } = 0.01;
    /// <summary>LR too low: any learning rate below this (UMLAUT).</summary>
    public double MinLr { get; init; } = 1e-7;
    /// <summary>LR too high needs a poor loss response: the latest smoothed loss at or above this fraction of the first.</summary>
    public double PoorResponse { get; init; } = 0.9;
    /// <summary>LR too low from updates: median weight update ratio below this while stalled (a healthy ratio is ~1e-3, CS231n).</summary>
    public double LowUpdateRatio { get; init; } = 1e-4;
    /// <summary>LR too high from updates: median weight update ratio above this (the per-layer update-ratio-high threshold).</summary>
    public double HighUpdateRatio { get; init; } = 5e-2;
    /// <summary>Oscillation (epochs): a reversal of at least this size in accuracy (AutoTrainer: 0.03).</summary>
    public double OscillationAccuracySwing { get; init; } = 0.03;
    /// <summary>Oscillation (epochs, no accuracy given): a reversal of at least this relative size in the loss.</summary>
    public double OscillationLossSwing { get; init; } = 0.1;
    /// <summary>Oscillation: at least this fraction of epoch (or step-block) transitions are large reversals (AutoTrainer: 20%).</summary>
    public double OscillationFraction { get; init; } = 0.2;
    /// <summary>Oscillation: at least this many large reversals in all. One dip and recovery is noise (a validation set of
    /// 1,000 samples has an accuracy standard error of ~1.5%), not oscillation: the overfitting demo's first five epochs
    /// had one 0.15 dip in accuracy and none after.</summary>
    public int OscillationMinReversals { get; init; } = 2;
    /// <summary>Oscillation (steps): a reversal between consecutive block means of at least this size relative to the smaller one.</summary>
    public double OscillationStepSwing { get; init; } = 0.5;
    /// <summary>Step losses are smoothed as means of blocks of this many steps.</summary>
    public int StepBlock { get; init; } = 10;
    /// <summary>Divergence: latest smoothed loss at or above this multiple of the best smoothed loss (the LR range test's stop rule, Smith 2017 / fastai: 4×).</summary>
    public double DivergenceFactor { get; init; } = 4;
    /// <summary>Rising loss: this many consecutive rises (epochs, or step blocks).</summary>
    public int RisingCount { get; init; } = 3;
    /// <summary>Rising loss: total relative rise over those transitions.</summary>
    public double RisingMinRise { get; init; } = 0.1;
    /// <summary>Initial loss: the first classification loss above this multiple of ln C (a uniform prediction gives exactly ln C; Karpathy's "check the loss at init").</summary>
    public double InitialLossFactor { get; init; } = 2;
    /// <summary>
    /// Step-level divergence, rising-loss and oscillation rules are skipped while the latest block mean is below this
    /// fraction of the first block mean (the run has converged far below its start). Default 0.25 (corpus, issue 9).
    /// </summary>
    public double SettledFraction { get; init; } = 0.25;
}
