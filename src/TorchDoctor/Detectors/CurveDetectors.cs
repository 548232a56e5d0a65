using TorchDoctor.Findings;
using TorchDoctor.Observations;
using static TorchDoctor.Detectors.TrainingDetectors;

namespace TorchDoctor.Detectors;

/// <summary>
/// Pure rules over a run's curves (<see cref="TrainingCurve"/>: epoch records and step losses): overfitting, slow
/// convergence, learning rate too high / too low / decayed, oscillation, plateau, divergence, rising loss and the
/// initial loss. They need no live model, so the same rules run on TensorBoard logs. At most one finding per code,
/// and one cause per symptom: a curve that diverges is not also "rising", an LR named too high is not also a divergence.
/// </summary>
public static class CurveDetectors
{
    /// <summary>Every curve finding the curve supports, causes before symptoms.</summary>
    public static IReadOnlyList<Finding> Detect(TrainingCurve curve, CurveThresholds? thresholds = null)
    {
        ArgumentNullException.ThrowIfNull(curve);
        var t = thresholds ?? new CurveThresholds();
        var found = new List<Finding>();
        void Add(Finding? f) { if (f is not null) found.Add(f); }
        Add(InitialLoss(curve, t));
        Add(LearningRateTooLow(curve, t));
        var high = LearningRateTooHigh(curve, t);
        Add(high);
        var noGeneralization = NoGeneralization(curve, t);
        Add(noGeneralization);
        if (noGeneralization is null) Add(Overfitting(curve, t));   // memorising what does not generalise is its consequence
        if (high is null)
        {
            var div = Divergence(curve, t);
            Add(div);
            if (div is null) Add(RisingLoss(curve, t));
            Add(Oscillation(curve, t));
            if (!found.Any(f => f.Code == ConvergenceCodes.LearningRateTooLow.Code)) Add(Stalled(curve, t));
        }
        return found;
    }

    /// <summary>
    /// The cause of a frozen parameter (TD2008) when the optimizer's learning rate <paramref name="learningRate"/> has been
    /// decayed below <see cref="CurveThresholds.DecayedLrFraction"/> of its peak <paramref name="peak"/>: the parameter receives
    /// gradients but its update rounds to nothing, so the scheduler (stepped too often) is what stopped training — lr-decayed
    /// (TD2109) instead of a frozen parameter. Null when the learning rate is not decayed that far (or unknown).
    /// </summary>
    public static Finding? DecayedLrFreezes(Finding frozen, double? learningRate, double? peak, CurveThresholds t)
    {
        ArgumentNullException.ThrowIfNull(frozen);
        ArgumentNullException.ThrowIfNull(t);
        if (frozen.Code != TrainingCodes.FrozenParameter.Code || learningRate is not { } l || peak is not { } p || !(p > 0) || !(l < p * t.DecayedLrFraction)) return null;
        string parameter = frozen.Evidence.TryGetValue("parameter", out var name) ? name.Text : frozen.Module ?? "a parameter";
        return Finding.Create(ConvergenceCodes.LearningRateDecayed, null,
            $"{parameter} receives gradients but no longer changes: the scheduler has decayed the learning rate to {F(l)}, {F(l / p)} of its peak {F(p)} (below {F(t.DecayedLrFraction)}), so training has stopped.",
            DecayedAdvice,
            new Dictionary<string, string>
            {
                ["learning rate"] = F(l), ["peak learning rate"] = F(p), ["threshold"] = $"{F(t.DecayedLrFraction)} × peak",
                ["frozen parameter"] = parameter,
            }, frozen.Step);
    }

    /// <summary>
    /// The cause of vanishing gradients or tiny update ratios (TD2001, TD2010) when the optimizer's
    /// lr × weight_decay is at least <see cref="CurveThresholds.MaxDecayPerStep"/>: decay shrinks every weight by that fraction
    /// per step, so the weights (and the gradients through them) collapse towards 0 — weight-decay-too-high (TD2121) instead.
    /// Null otherwise.
    /// </summary>
    public static Finding? WeightDecayShrinks(Finding symptom, double? learningRate, double? weightDecay, string? optimizer, CurveThresholds t)
    {
        ArgumentNullException.ThrowIfNull(symptom);
        ArgumentNullException.ThrowIfNull(t);
        if (symptom.Code is not ("TD2001" or "TD2010") || !DecayTooStrong(learningRate, weightDecay, optimizer, t)) return null;
        return WeightDecayFinding($"{symptom.Message.TrimEnd('.')} at step {symptom.Step}{(symptom.Module is { } m ? $" ({m})" : "")}, and",
            "the weights, and the gradients through them, collapse towards 0", learningRate!.Value, weightDecay!.Value, optimizer, t,
            new Dictionary<string, string> { ["symptom"] = $"{symptom.Code} {symptom.Slug}" }, symptom.Step);
    }

    /// <summary>
    /// lr × weight_decay at least <see cref="CurveThresholds.MaxDecayPerStep"/>, except with an Adam-family lr above UMLAUT's
    /// 0.01, which makes the product large by itself: that is the LR's finding, not the decay's.
    /// </summary>
    private static bool DecayTooStrong(double? learningRate, double? weightDecay, string? optimizer, CurveThresholds t)
        => learningRate is { } lr && weightDecay is { } wd && lr * wd >= t.MaxDecayPerStep && !(IsAdamFamily(optimizer) && lr > t.AdamMaxLr);

    /// <summary>TD2121: <paramref name="lead"/> (what was seen), the decay's shrink per step, <paramref name="consequence"/>; the usual value as the fix.</summary>
    private static Finding WeightDecayFinding(string lead, string consequence, double lr, double wd, string? optimizer, CurveThresholds t,
        Dictionary<string, string> ev, long? step)
    {
        ev["learning rate"] = F(lr);
        ev["weight decay"] = F(wd);
        ev["shrink per step (lr × weight_decay)"] = F(lr * wd);
        bool adam = IsAdamFamily(optimizer);
        return Finding.Create(ConvergenceCodes.WeightDecayTooHigh, null,
            $"{lead} weight_decay {F(wd)} at lr {F(lr)} shrinks every weight by {F(lr * wd * 100)}% per step (lr × weight_decay; at least {F(t.MaxDecayPerStep * 100)}% counts): {consequence}.",
            $"Lower the weight decay to a usual value ({(adam ? "0.01 with AdamW (1e-4 with Adam's L2)" : "1e-4 to 5e-4 with SGD")}): " +
            $"e.g. `optim.{optimizer ?? "SGD"}(model.parameters(), lr, weight_decay: {(adam ? "0.01" : "5e-4")})`.",
            ev, step);
    }

    /// <summary>Means of consecutive blocks of <see cref="CurveThresholds.StepBlock"/> finite step losses (the partial last block dropped).</summary>
    public static IReadOnlyList<(long Step, double Mean)> BlockMeans(IReadOnlyList<StepRecord> steps, int block)
    {
        var result = new List<(long, double)>();
        var finite = steps.Where(s => double.IsFinite(s.Loss)).ToList();
        for (int i = 0; i + block <= finite.Count; i += block)
            result.Add((finite[i + block - 1].Step, finite.Skip(i).Take(block).Average(s => s.Loss)));
        return result;
    }

    /// <summary>
    /// Step-level rules stay quiet while the latest block mean is below <see cref="CurveThresholds.SettledFraction"/> of the
    /// first: a loss that has already fallen that far swings by large relative amounts around tiny values (measured on the
    /// corpus's converged runs at losses of 1e-4 to 0.07), which is noise, not divergence or oscillation.
    /// </summary>
    private static bool Settled(IReadOnlyList<(long Step, double Mean)> blocks, CurveThresholds t)
        => SettledSeries(blocks.Select(b => b.Mean).ToList(), t);

    /// <summary>
    /// An epoch series (losses) whose latest value is below <see cref="CurveThresholds.SettledFraction"/> of its first: the run
    /// has converged far below its start and relative swings around tiny values are noise (the step-level
    /// <see cref="Settled"/> rule, for epochs). A real relapse climbs back above that fraction and is judged again.
    /// </summary>
    private static bool SettledSeries(IReadOnlyList<double> values, CurveThresholds t)
        => values.Count >= 2 && values[0] > 0 && values[^1] < t.SettledFraction * values[0];

    private static double? LastLr(TrainingCurve c) => c.Steps.LastOrDefault(s => s.LearningRate is not null)?.LearningRate ?? c.Epochs.LastOrDefault(e => e.LearningRate is not null)?.LearningRate;
    private static long? LastStep(TrainingCurve c) => c.Steps.Count > 0 ? c.Steps[^1].Step : c.Epochs.LastOrDefault()?.Step;
    private static double? MedianRatio(TrainingCurve c)
    {
        var r = c.Steps.Where(s => s.UpdateRatio is { } x && double.IsFinite(x)).Select(s => s.UpdateRatio!.Value).ToList();
        return r.Count == 0 ? null : Median(r);
    }

    private static bool IsAdamFamily(string? optimizer) => optimizer is not null &&
        (optimizer.StartsWith("Adam", StringComparison.OrdinalIgnoreCase) || optimizer.Equals("NAdam", StringComparison.OrdinalIgnoreCase) || optimizer.Equals("RAdam", StringComparison.OrdinalIgnoreCase));

    /// <summary>The loss of a uniform prediction: ln C for cross-entropy/NLL over C classes, ln 2 for binary cross-entropy; null otherwise.</summary>
    public static double? UniformLoss(LossKind? kind, int? classes) => kind switch
    {
        LossKind.CrossEntropy or LossKind.NllLoss when classes is > 1 => Math.Log(classes.Value),
        LossKind.BinaryCrossEntropy or LossKind.BinaryCrossEntropyWithLogits => Math.Log(2),
        _ => null,
    };

    /// <summary>Initial loss: the first classification loss above <see cref="CurveThresholds.InitialLossFactor"/> × ln C. Runs only when the loss kind is known.</summary>
    public static Finding? InitialLoss(TrainingCurve c, CurveThresholds t)
    {
        if (c.LossKind is not { } kind || !kind.IsClassification() || c.InitialLosses.Count == 0) return null;
        if (UniformLoss(kind, c.Classes) is not { } lnC) return null;
        double first = c.InitialLosses[0];
        if (!double.IsFinite(first) || first <= t.InitialLossFactor * lnC) return null;
        string what = kind is LossKind.CrossEntropy or LossKind.NllLoss ? $"ln {c.Classes} = {F(lnC)}" : $"ln 2 = {F(lnC)}";
        return Finding.Create(ConvergenceCodes.InitialLossHigh, null,
            $"The first loss is {F(first)}, {F(first / lnC)}× the loss of a uniform prediction ({what}): the initial logits are far too confident.",
            "Initialise the last layer small so the first prediction is near uniform: `init.zeros_(head.weight); init.zeros_(head.bias)` " +
            "(or `init.normal_(head.weight, 0, 0.01)`), use Kaiming/Xavier init for hidden layers (`init.kaiming_normal_`), and check inputs are normalised (mean 0, std 1).",
            new Dictionary<string, string> { ["first loss"] = F(first), ["uniform loss"] = F(lnC), ["ratio"] = F(first / lnC), ["loss"] = kind.FunctionName() }, 0);
    }

    /// <summary>LR too low: any learning rate below <see cref="CurveThresholds.MinLr"/> (UMLAUT).</summary>
    public static Finding? LearningRateTooLow(TrainingCurve c, CurveThresholds t)
    {
        if (LastLr(c) is not { } lr || lr < 0 || lr >= t.MinLr) return null;
        // A schedule's doing: lr-decayed. Stalled names a decayed LR once the loss stalls; an LR of exactly 0 has stopped
        // training outright and is named at once.
        if (c.PeakLearningRate is { } peak && peak >= t.MinLr && lr < peak * t.DecayedLrFraction)
            return lr == 0 ? ZeroedLr(c, peak, t) : null;
        return LowLr(c, lr, lr == 0 ? "The learning rate is 0: the weights cannot move." : $"The learning rate is {F(lr)}, below {F(t.MinLr)}: the weights will barely move.", t);
    }

    /// <summary>What to check when a scheduler decayed the learning rate to (almost) nothing.</summary>
    private const string DecayedAdvice =
        "Check the scheduler: step it in the unit its length is given in (once per epoch for StepLR/CosineAnnealingLR sized in epochs, not per batch), " +
        "compute a LambdaLR factor in floating point (`(epochs - epoch) / (double)epochs`: in integer arithmetic it is 0 from epoch 1 on), " +
        "or let a plateau schedule decide: `WarmupScheduler.WithPlateau(optimizer, warmupSteps, patience: 2, minLr: 1e-6)`.";

    /// <summary>
    /// The learning rate is exactly 0 after a peak above <see cref="CurveThresholds.MinLr"/> and training went on at 0 for at
    /// least <see cref="CurveThresholds.StepBlock"/> steps (or 2 epochs when the curve has no step learning rates): a schedule
    /// stopped training. A schedule that decays to 0 at its last step (a linear or cosine decay to zero) is not that. Null otherwise.
    /// </summary>
    private static Finding? ZeroedLr(TrainingCurve c, double peak, CurveThresholds t)
    {
        // The first step of the current run of steps at lr 0, and how many steps ran at 0.
        long? since = null;
        int zeroSteps = 0;
        for (int i = c.Steps.Count - 1; i >= 0 && c.Steps[i].LearningRate == 0; i--) { since = c.Steps[i].Step; zeroSteps++; }
        bool stepLrs = c.Steps.Any(x => x.LearningRate is not null);
        int zeroEpochs = c.Epochs.Reverse().TakeWhile(e => e.LearningRate == 0).Count();
        if (stepLrs ? zeroSteps < t.StepBlock : zeroEpochs < 2) return null;
        since ??= c.Epochs.LastOrDefault(e => e.LearningRate == 0)?.Step;
        return Finding.Create(ConvergenceCodes.LearningRateDecayed, null,
            $"The learning rate is 0{(since is { } s ? $" since step {s}" : "")} (its peak was {F(peak)}): the scheduler has stopped training, no weight can move.",
            DecayedAdvice,
            new Dictionary<string, string> { ["learning rate"] = "0", ["peak learning rate"] = F(peak), ["since step"] = since?.ToString(System.Globalization.CultureInfo.InvariantCulture) ?? "unknown" },
            LastStep(c));
    }

    private static Finding LowLr(TrainingCurve c, double lr, string message, CurveThresholds t)
    {
        var ev = new Dictionary<string, string> { ["learning rate"] = F(lr) };
        if (MedianRatio(c) is { } r) ev["median update ratio"] = F(r);
        if (c.Optimizer is not null) ev["optimizer"] = c.Optimizer;
        string suggestion = IsAdamFamily(c.Optimizer) ? "1e-3" : "0.01–0.1 (with momentum: 0.9)";
        return Finding.Create(ConvergenceCodes.LearningRateTooLow, null, message,
            $"Run the LR range test (`LrFinder.Run(model, optimizer, batches, lossFn)`) and use its suggestion; a usual start for {c.Optimizer ?? "this optimizer"} is lr {suggestion}. " +
            "Add warmup and a plateau schedule (`WarmupScheduler.WithPlateau(optimizer, warmupSteps: 100)`).",
            ev, LastStep(c));
    }

    /// <summary>
    /// LR too high: an Adam-family optimizer with lr above <see cref="CurveThresholds.AdamMaxLr"/> (UMLAUT) whose loss
    /// responds poorly (latest smoothed loss ≥ <see cref="CurveThresholds.PoorResponse"/> × the first) or whose median
    /// update ratio is above <see cref="CurveThresholds.HighUpdateRatio"/>; or any optimizer whose loss diverges with
    /// update ratios above that.
    /// </summary>
    public static Finding? LearningRateTooHigh(TrainingCurve c, CurveThresholds t)
    {
        if (LastLr(c) is not { } lr) return null;
        var blocks = BlockMeans(c.Steps, t.StepBlock);
        double? first = c.InitialLosses.Count >= t.StepBlock ? c.InitialLosses.Take(t.StepBlock).Where(double.IsFinite).DefaultIfEmpty(double.NaN).Average()
            : blocks.Count > 0 ? blocks[0].Mean : null;
        double? latest = blocks.Count > 0 ? blocks[^1].Mean : null;
        bool nonFinite = c.Steps.Count > 0 && !double.IsFinite(c.Steps[^1].Loss);
        double? ratio = MedianRatio(c);
        bool poor = first is { } f0 && double.IsFinite(f0) && (nonFinite || latest is { } l && l >= t.PoorResponse * f0);
        bool bigUpdates = ratio is { } r && r > t.HighUpdateRatio;
        int blocksSeen = blocks.Count;
        var ev = new Dictionary<string, string> { ["learning rate"] = F(lr) };
        if (c.Optimizer is not null) ev["optimizer"] = c.Optimizer;
        if (first is { } a) ev["first smoothed loss"] = F(a);
        if (latest is { } b) ev["latest smoothed loss"] = F(b);
        if (ratio is { } rr) ev["median update ratio"] = F(rr);
        string message;
        // Adam above UMLAUT's 0.01 with a loss that responds badly: worse than at the start, big updates, or a divergence or
        // oscillation of the smoothed loss (symptoms whose cause is then this learning rate, reported once, here).
        var symptom = IsAdamFamily(c.Optimizer) && lr > t.AdamMaxLr && blocksSeen >= 3 && !poor && !bigUpdates
            ? Divergence(c, t) ?? Oscillation(c, t) : null;
        if (IsAdamFamily(c.Optimizer) && lr > t.AdamMaxLr && blocksSeen >= 3 && (poor || bigUpdates || symptom is not null))
        {
            message = $"{c.Optimizer} with lr {F(lr)} (above {F(t.AdamMaxLr)}): " +
                      (poor ? $"the smoothed loss went from {F(first!.Value)} to {F(latest ?? double.NaN)}"
                       : bigUpdates ? $"the median update ratio is {F(ratio!.Value)}"
                       : $"{char.ToLowerInvariant(symptom!.Message[0])}{symptom.Message[1..].TrimEnd('.')}") + ".";
            if (symptom is not null) ev["symptom"] = $"{symptom.Code} {symptom.Slug}";
        }
        else if (bigUpdates && blocks.Count >= 2 && Divergence(c, t) is not null)
            message = $"The loss diverges with a median update ratio of {F(ratio!.Value)} (above {F(t.HighUpdateRatio)}) at lr {F(lr)}.";
        else return null;
        string target = IsAdamFamily(c.Optimizer) ? "1e-3" : F(lr / 10);
        return Finding.Create(ConvergenceCodes.LearningRateTooHigh, null, message,
            $"Lower the learning rate to {target} (`optimizer.param_groups.First().LearningRate = {target}` or recreate the optimizer), " +
            "or run the LR range test (`LrFinder.Run(...)`) and use its suggestion; add warmup (`WarmupScheduler`) if early steps blow up.",
            ev, LastStep(c));
    }

    /// <summary>
    /// Overfitting: the best validation loss is at least <see cref="CurveThresholds.OverfitPatience"/> epochs old, the
    /// training loss fell since, and the validation loss rose by ≥ <see cref="CurveThresholds.OverfitMinRise"/> or the
    /// val − train gap grew ≥ <see cref="CurveThresholds.OverfitGapGrowth"/>×. The onset is the best epoch.
    /// </summary>
    public static Finding? Overfitting(TrainingCurve c, CurveThresholds t)
    {
        var e = c.Epochs.Where(x => x.ValLoss is { } v && double.IsFinite(v) && double.IsFinite(x.TrainLoss)).ToList();
        if (e.Count < t.OverfitPatience + 1) return null;
        int bi = 0;
        for (int i = 1; i < e.Count; i++) if (e[i].ValLoss!.Value < e[bi].ValLoss!.Value) bi = i;
        var best = e[bi];
        var last = e[^1];
        if (e.Count - 1 - bi < t.OverfitPatience || last.TrainLoss >= best.TrainLoss) return null;
        double rise = last.ValLoss!.Value / best.ValLoss!.Value - 1;
        double gapBest = best.ValLoss.Value - best.TrainLoss, gapLast = last.ValLoss.Value - last.TrainLoss;
        // Overfitting means validation is worse than training now, by more than noise: a gap or a rise smaller than
        // OverfitMinAbsolute of the first validation loss is a converged run's jitter (8.6e-5 → 1.7e-4 at 100% accuracy),
        // and validation below training is not overfitting (a first epoch's mean train loss is inflated by its first steps).
        // The scale of the problem: the larger of the first validation loss, the run's first step loss and ln C (a run that
        // converges within its first epoch starts its epochs near the floor).
        double scale = Math.Max(Math.Abs(e[0].ValLoss!.Value), Math.Max(c.InitialLosses.Count > 0 && double.IsFinite(c.InitialLosses[0]) ? Math.Abs(c.InitialLosses[0]) : 0,
            UniformLoss(c.LossKind, c.Classes) ?? 0));
        double floor = t.OverfitMinAbsolute * scale;
        if (!(gapLast > floor)) return null;
        bool rising = rise >= t.OverfitMinRise && last.ValLoss.Value - best.ValLoss.Value > floor;
        bool gapGrew = gapBest > 0 && gapLast >= t.OverfitGapGrowth * gapBest && gapLast >= 0.1 * last.ValLoss.Value;
        if (!rising && !gapGrew) return null;
        var ev = new Dictionary<string, string>
        {
            ["best epoch"] = best.Epoch.ToString(System.Globalization.CultureInfo.InvariantCulture),
            ["best val loss"] = F(best.ValLoss.Value),
            ["latest val loss"] = F(last.ValLoss.Value),
            ["val rise"] = F(rise),
            ["train loss at best"] = F(best.TrainLoss),
            ["latest train loss"] = F(last.TrainLoss),
            ["gap at best"] = F(gapBest),
            ["latest gap"] = F(gapLast),
        };
        string why = rising
            ? $"validation loss rose {F(rise * 100)}% above its best ({F(best.ValLoss.Value)} at epoch {best.Epoch}) to {F(last.ValLoss.Value)}"
            : $"the val − train gap grew from {F(gapBest)} at epoch {best.Epoch} to {F(gapLast)}";
        return Finding.Create(ConvergenceCodes.Overfitting, null,
            $"Overfitting since epoch {best.Epoch}: {why} while the training loss fell from {F(best.TrainLoss)} to {F(last.TrainLoss)}.",
            $"Stop at epoch {best.Epoch} and keep its weights: `var stop = new EarlyStopping(model, patience: {t.OverfitPatience}, doctor: doctor); ... if (stop.Update(valLoss)) break; stop.RestoreBest();`. " +
            "Regularise: `Dropout(0.5)` before the classifier, `optim.AdamW(model.parameters(), lr, weight_decay: 0.01)` (with Adam/SGD's L2: weight_decay 1e-4), and more or augmented data (random crops/flips).",
            ev, last.Step);
    }

    /// <summary>
    /// No generalisation: over at least <see cref="CurveThresholds.OverfitPatience"/> + 1 epochs the validation accuracy never rose
    /// more than <see cref="CurveThresholds.ChanceMargin"/> above chance (1/C) while training learned (its accuracy rose at least
    /// 2 × that margin above chance, or its loss fell below 0.9 × ln C). Inputs and labels that are not paired (x and y shuffled
    /// separately), a validation set labelled differently, or preprocessing that differs between the splits.
    /// </summary>
    public static Finding? NoGeneralization(TrainingCurve c, CurveThresholds t)
    {
        var e = c.Epochs.Where(x => x.ValAccuracy is { } v && double.IsFinite(v)).ToList();
        if (c.Classes is not > 1 || e.Count < t.OverfitPatience + 1) return null;
        int classes = c.Classes.Value;
        double chance = 1.0 / classes;
        double bestVal = e.Max(x => x.ValAccuracy!.Value);
        if (bestVal > chance + t.ChanceMargin) return null;
        double? trainAcc = e.Where(x => x.TrainAccuracy is { } a && double.IsFinite(a)).Select(x => (double?)x.TrainAccuracy).Max();
        double? lnC = UniformLoss(c.LossKind, classes);
        double lastTrain = e[^1].TrainLoss;
        bool byAccuracy = trainAcc is { } ta && ta >= chance + 2 * t.ChanceMargin;
        bool byLoss = lnC is { } ln && double.IsFinite(lastTrain) && lastTrain <= 0.9 * ln;
        if (!byAccuracy && !byLoss) return null;
        string learned = byAccuracy ? $"the training accuracy reached {F(trainAcc!.Value)}" : $"the training loss fell to {F(lastTrain)} (ln C = {F(lnC!.Value)})";
        var ev = new Dictionary<string, string>
        {
            ["best val accuracy"] = F(bestVal), ["chance (1/C)"] = F(chance), ["classes"] = classes.ToString(System.Globalization.CultureInfo.InvariantCulture),
            ["epochs"] = e.Count.ToString(System.Globalization.CultureInfo.InvariantCulture), ["latest train loss"] = F(lastTrain),
        };
        if (trainAcc is { } tacc) ev["best train accuracy"] = F(tacc);
        return Finding.Create(ConvergenceCodes.NoGeneralization, null,
            $"Over {e.Count} epochs the validation accuracy never rose more than {F(t.ChanceMargin)} above chance (best {F(bestVal)}; chance 1/{classes} = {F(chance)}) while {learned}: " +
            "what the model learns does not carry over to new samples.",
            "Check that inputs and labels stay paired: shuffle both with one permutation (`var idx = randperm(n); x = x[idx]; y = y[idx];`), not each with its own; " +
            "check that the validation labels use the same class order and the validation inputs the same preprocessing (normalisation, channel order) as training.",
            ev, e[^1].Step);
    }

    /// <summary>Divergence: the latest block-mean loss ≥ <see cref="CurveThresholds.DivergenceFactor"/> × the best block mean (or the run's best smoothed loss).</summary>
    public static Finding? Divergence(TrainingCurve c, CurveThresholds t)
    {
        var blocks = BlockMeans(c.Steps, t.StepBlock);
        if (blocks.Count < 2 || Settled(blocks, t)) return null;
        double best = blocks.Min(b => b.Mean);
        if (c.BestSmoothedLoss is { } b0 && b0 < best) best = b0;
        var last = blocks[^1];
        if (best <= 0 || last.Mean < t.DivergenceFactor * best) return null;
        var bestBlock = blocks.MinBy(b => b.Mean);
        return Finding.Create(ConvergenceCodes.Divergence, null,
            $"The smoothed training loss rose to {F(last.Mean)}, {F(last.Mean / best)}× its best ({F(best)}): training diverges.",
            "Lower the learning rate (÷10) or run the LR range test (`LrFinder.Run(...)`); check `optimizer.zero_grad()` runs every step; " +
            "clip gradients (`new GradientClipper(model.parameters(), 1.0).Clip()` before `optimizer.step()`).",
            new Dictionary<string, string> { ["latest smoothed loss"] = F(last.Mean), ["best smoothed loss"] = F(best), ["ratio"] = F(last.Mean / best), ["best at step"] = bestBlock.Step.ToString(System.Globalization.CultureInfo.InvariantCulture) },
            last.Step);
    }

    /// <summary>
    /// Rising loss: the last <see cref="CurveThresholds.RisingCount"/> epoch train losses (or step-block means) each rose,
    /// by <see cref="CurveThresholds.RisingMinRise"/> in total.
    /// </summary>
    public static Finding? RisingLoss(TrainingCurve c, CurveThresholds t)
    {
        var epochs = c.Epochs.Where(e => double.IsFinite(e.TrainLoss)).Select(e => ((long)e.Epoch, e.TrainLoss, e.Step)).ToList();
        if (SettledSeries(epochs.Select(x => x.TrainLoss).ToList(), t)) epochs.Clear();
        var rawBlocks = BlockMeans(c.Steps, t.StepBlock);
        var blocks = Settled(rawBlocks, t) ? new List<(long, double, long?)>() : rawBlocks.Select(b => (b.Step, b.Mean, (long?)b.Step)).ToList();
        foreach (var (series, unit) in new[] { (epochs, "epoch"), (blocks, "step block") })
        {
            if (series.Count < t.RisingCount + 1) continue;
            var tail = series.Skip(series.Count - t.RisingCount - 1).ToList();
            bool up = true;
            for (int i = 1; i < tail.Count; i++) up &= tail[i].Item2 > tail[i - 1].Item2;
            double rise = tail[^1].Item2 / tail[0].Item2 - 1;
            if (!up || rise < t.RisingMinRise) continue;
            string where = unit == "epoch" ? $"epochs {tail[0].Item1}–{tail[^1].Item1}" : $"steps {tail[0].Item1}–{tail[^1].Item1} (means of {t.StepBlock} steps)";
            return Finding.Create(ConvergenceCodes.RisingLoss, null,
                $"The training loss rose {t.RisingCount} times in a row over {where}: {F(tail[0].Item2)} → {F(tail[^1].Item2)} (+{F(rise * 100)}%).",
                "Check `optimizer.zero_grad()` runs every step and `model.train()` is called after evaluation; then lower the learning rate (÷10) or add a plateau schedule (`WarmupScheduler.WithPlateau(...)`).",
                new Dictionary<string, string> { ["from"] = F(tail[0].Item2), ["to"] = F(tail[^1].Item2), ["rise"] = F(rise), ["over"] = where },
                tail[^1].Item3);
        }
        return null;
    }

    /// <summary>
    /// Oscillation: at least <see cref="CurveThresholds.OscillationFraction"/> of epoch transitions are reversals of at least
    /// <see cref="CurveThresholds.OscillationAccuracySwing"/> in accuracy (AutoTrainer; relative
    /// <see cref="CurveThresholds.OscillationLossSwing"/> in loss when no accuracy is given), or of step-block transitions
    /// reversals of at least <see cref="CurveThresholds.OscillationStepSwing"/> relative to the smoothed loss; and at least
    /// <see cref="CurveThresholds.OscillationMinReversals"/> reversals in all.
    /// </summary>
    public static Finding? Oscillation(TrainingCurve c, CurveThresholds t)
    {
        // Epochs: accuracy (val, else train) absolute swings; else loss relative swings.
        var e = c.Epochs;
        (string Name, double[] Values, bool Relative, double Threshold)? series = null;
        if (e.Count >= 5 && e.All(x => x.ValAccuracy is not null)) series = ("validation accuracy", e.Select(x => x.ValAccuracy!.Value).ToArray(), false, t.OscillationAccuracySwing);
        else if (e.Count >= 5 && e.All(x => x.TrainAccuracy is not null)) series = ("training accuracy", e.Select(x => x.TrainAccuracy!.Value).ToArray(), false, t.OscillationAccuracySwing);
        else if (e.Count >= 5 && e.All(x => x.ValLoss is not null)) series = ("validation loss", e.Select(x => x.ValLoss!.Value).ToArray(), true, t.OscillationLossSwing);
        else if (e.Count >= 5) series = ("training loss", e.Select(x => x.TrainLoss).ToArray(), true, t.OscillationLossSwing);
        // Swings of a loss that has already fallen far below its start are noise around a floor (an LSTM at 0.011 ↔ 0.013);
        // swings of an accuracy that never left chance (1/C) are noise of a model that predicts nothing.
        if (series is { Relative: true } settled && SettledSeries(settled.Values, t)) series = null;
        if (series is { Relative: false } acc && c.Classes is > 1 && acc.Values.Max() <= 1.0 / c.Classes.Value + t.ChanceMargin) series = null;
        if (series is { } s && Reversals(s.Values, s.Relative, s.Threshold) is var (n, max) && n >= t.OscillationMinReversals && n >= t.OscillationFraction * (s.Values.Length - 1))
            return OscillationFinding(c, $"{s.Name} reversed by ≥ {F(s.Threshold)}{(s.Relative ? " (relative)" : "")} in {n} of {s.Values.Length - 1} epoch transitions",
                n, s.Values.Length - 1, max, e[^1].Step);
        var blocks = BlockMeans(c.Steps, t.StepBlock);
        if (blocks.Count >= 6 && !Settled(blocks, t))
        {
            var (bn, bmax) = Reversals(blocks.Select(b => b.Mean).ToArray(), true, t.OscillationStepSwing);
            if (bn >= t.OscillationMinReversals && bn >= t.OscillationFraction * (blocks.Count - 1))
                return OscillationFinding(c, $"the loss (means of {t.StepBlock} steps) reversed by ≥ {F(t.OscillationStepSwing * 100)}% of the smoothed loss in {bn} of {blocks.Count - 1} transitions",
                    bn, blocks.Count - 1, bmax, blocks[^1].Step);
        }
        return null;
    }

    private static Finding OscillationFinding(TrainingCurve c, string what, int n, int of, double max, long? step)
        => Finding.Create(ConvergenceCodes.Oscillation, null, $"The run oscillates: {what}.",
            "Lower the learning rate (÷3 to ÷10) or increase the batch size; add a plateau schedule (`WarmupScheduler.WithPlateau(optimizer, warmupSteps)`) " +
            "and, for SGD, momentum 0.9 with a smaller lr.",
            new Dictionary<string, string> { ["reversals"] = n.ToString(System.Globalization.CultureInfo.InvariantCulture), ["transitions"] = of.ToString(System.Globalization.CultureInfo.InvariantCulture), ["fraction"] = F((double)n / of), ["largest swing"] = F(max) },
            step);

    /// <summary>
    /// Counts swings the wrong way: a fall after a rise for accuracy (<paramref name="relative"/> false), a rise after a fall
    /// for a loss (<paramref name="relative"/> true), whose size (absolute, or relative to the smaller value) reaches
    /// <paramref name="threshold"/>. A dip and its recovery count once.
    /// </summary>
    internal static (int Count, double Max) Reversals(double[] v, bool relative, double threshold)
    {
        int bad = relative ? 1 : -1;
        int n = 0;
        double max = 0;
        for (int i = 2; i < v.Length; i++)
        {
            double d1 = v[i - 1] - v[i - 2], d2 = v[i] - v[i - 1];
            if (Math.Sign(d2) != bad || Math.Sign(d1) != -bad) continue;
            double size = relative ? Math.Abs(d2) / Math.Max(1e-12, Math.Min(v[i], v[i - 1])) : Math.Abs(d2);
            max = Math.Max(max, size);
            if (size >= threshold) n++;
        }
        return (n, max);
    }

    /// <summary>
    /// Stalled training over the last <see cref="CurveThresholds.SlowWindow"/> epochs: best gain below
    /// <see cref="CurveThresholds.SlowGain"/> while the train loss is above <see cref="CurveThresholds.FarFromFloor"/> × its
    /// reference. Named by cause: the scheduler decayed the LR (lr-decayed), updates are tiny or the loss never left ln C
    /// (lr-too-low), it learned and then stopped (loss-plateau), or it never learned fast (slow-convergence: model too small
    /// when train and val agree).
    /// </summary>
    public static Finding? Stalled(TrainingCurve c, CurveThresholds t)
    {
        var e = c.Epochs.Where(x => double.IsFinite(x.TrainLoss)).ToList();
        if (e.Count < t.SlowWindow + 1) return null;
        bool acc = e.All(x => x.TrainAccuracy is not null);
        double Gain(int i) => acc ? e[i].TrainAccuracy!.Value - e[i - 1].TrainAccuracy!.Value : (e[i - 1].TrainLoss - e[i].TrainLoss) / Math.Abs(e[i - 1].TrainLoss);
        var window = Enumerable.Range(e.Count - t.SlowWindow, t.SlowWindow).Select(Gain).ToList();
        double best = window.Max();
        if (best >= t.SlowGain) return null;
        double? lnC = UniformLoss(c.LossKind, c.Classes);
        double reference = lnC ?? (c.InitialLosses.Count > 0 ? c.InitialLosses[0] : e[0].TrainLoss);
        var last = e[^1];
        if (!(reference > 0) || last.TrainLoss <= t.FarFromFloor * reference) return null;
        // The numbers printed are the numbers tested: the gain against SlowGain (a loss decrease as a percentage of both), the
        // train loss against FarFromFloor × reference.
        string gainText = acc ? $"best per-epoch accuracy gain {F(best)} (below {F(t.SlowGain)})" : $"best per-epoch loss decrease {F(best * 100)}% (below {F(t.SlowGain * 100)}%)";
        string refText = lnC is not null ? $"{F(t.FarFromFloor * reference)} ({F(t.FarFromFloor)} × ln C, ln C = {F(reference)})" : $"{F(t.FarFromFloor * reference)} ({F(t.FarFromFloor)} × the first loss {F(reference)})";
        var ev = new Dictionary<string, string>
        {
            ["best gain in window"] = F(best), ["gain measure"] = acc ? "train accuracy" : "relative train loss",
            ["window (epochs)"] = t.SlowWindow.ToString(System.Globalization.CultureInfo.InvariantCulture),
            ["latest train loss"] = F(last.TrainLoss), ["reference"] = F(reference),
        };
        var stalled = $"Over the last {t.SlowWindow} epochs the {gainText} while the train loss {F(last.TrainLoss)} is still above {refText}";
        double? lr = LastLr(c);
        double? peak = c.PeakLearningRate ?? c.Epochs.Select(x => x.LearningRate).Where(x => x is not null).DefaultIfEmpty(null).Max();
        if (lr is { } l && peak is { } p && p > 0 && l < p * t.DecayedLrFraction)
        {
            ev["learning rate"] = F(l);
            ev["peak learning rate"] = F(p);
            return Finding.Create(ConvergenceCodes.LearningRateDecayed, null,
                $"{stalled}: the scheduler has decayed the learning rate to {F(l)}, {F(l / p)} of its peak {F(p)}.",
                DecayedAdvice,
                ev, last.Step);
        }
        double? ratio = MedianRatio(c);
        // Large updates that do not help: not a learning rate too low. With a weight decay that shrinks every weight by a
        // large fraction each step, that decay is the cause.
        bool bigUpdates = ratio is { } rh && rh > t.HighUpdateRatio;
        if (bigUpdates && DecayTooStrong(lr, c.WeightDecay, c.Optimizer, t))
        {
            ev["median update ratio"] = F(ratio!.Value);
            return WeightDecayFinding($"{stalled}; the weights move by a median {F(ratio.Value)} of their norm per step (above {F(t.HighUpdateRatio)}) yet the loss does not improve:",
                "faster than the gradients can move them", lr!.Value, c.WeightDecay!.Value, c.Optimizer, t, ev, last.Step);
        }
        if (!bigUpdates && (ratio is { } r && r < t.LowUpdateRatio || lnC is { } ln && last.TrainLoss >= 0.9 * ln))
        {
            if (ratio is { } r2) ev["median update ratio"] = F(r2);
            var f = LowLr(c, lr ?? double.NaN, $"{stalled}; " + (ratio is { } r3 && r3 < t.LowUpdateRatio
                ? $"weights move by a median {F(r3)} of their norm per step (below {F(t.LowUpdateRatio)}): the learning rate {(lr is null ? "" : F(lr.Value) + " ")}is too low."
                : $"the loss has barely left ln C: the learning rate {(lr is null ? "" : F(lr.Value) + " ")}is too low."), t);
            return f with { Evidence = f.Evidence.WithMissing(ev) };
        }
        bool learnedBefore = Enumerable.Range(1, e.Count - 1 - t.SlowWindow).Any(i => Gain(i) >= t.SlowGain * 5);
        if (learnedBefore)
            return Finding.Create(ConvergenceCodes.Plateau, null,
                $"{stalled}, after it had improved: the loss has plateaued at lr {(lr is null ? "(unknown)" : F(lr.Value))}.",
                "Reduce the learning rate on plateaus: `var sched = WarmupScheduler.WithPlateau(optimizer, warmupSteps: 0, factor: 0.1, patience: 3); ... sched.EndEpoch(valLoss);`.",
                ev, last.Step);
        bool noGap = last.ValLoss is { } v && Math.Abs(v - last.TrainLoss) <= 0.1 * last.TrainLoss;
        if (last.ValLoss is { } v2) ev["latest val loss"] = F(v2);
        return Finding.Create(ConvergenceCodes.SlowConvergence, null,
            $"{stalled}." + (noGap ? $" Train and validation loss agree ({F(last.TrainLoss)} vs {F(last.ValLoss!.Value)}): the model underfits, it looks too small for the task." : ""),
            noGap
                ? "Give the model more capacity (wider or more layers, e.g. double the channels), train longer, and check the LR with the range test (`LrFinder.Run(...)`)."
                : "Run the LR range test (`LrFinder.Run(model, optimizer, batches, lossFn)`) and train at its suggestion with warmup and a plateau schedule (`WarmupScheduler.WithPlateau(...)`); consider Adam(1e-3) or SGD with momentum 0.9.",
            ev, last.Step);
    }
}
