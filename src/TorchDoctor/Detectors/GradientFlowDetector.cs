using TorchDoctor.Findings;
using TorchDoctor.Observations;
using static TorchDoctor.Detectors.TrainingDetectors;

namespace TorchDoctor.Detectors;

/// <summary>
/// Vanishing and exploding gradients, from the weight-gradient norms of the layers in forward order.
/// Vanishing (AutoTrainer): ‖g_first‖/‖g_last‖ &lt; 1e-3 and ‖g_first‖ &lt; 1e-4, or (DeepDiagnosis) a layer's
/// mean |dW| &lt; 1e-7, at <see cref="DetectorThresholds.Persistence"/> consecutive sampled steps.
/// Exploding (AutoTrainer): ratio &gt; 70 at consecutive sampled steps, or loss ≥ 1e3; or the global gradient
/// norm above 10× its window median (TorchDoctor).
/// </summary>
public sealed class GradientFlowDetector : ITrainingDetector
{
    /// <inheritdoc />
    public ObservationKinds Needs => ObservationKinds.Loss | ObservationKinds.Parameters;

    /// <summary>Layer gradient norms in forward order: (module, weight gradient norm, mean |g|) for weights (rank ≥ 2) with gradients.</summary>
    public static List<(string Module, double Norm, double MeanAbs)> Profile(IEnumerable<ParameterObservation> ps)
        => ps.Where(p => p.Rank >= 2 && p.HasGradient && p.ExecutionOrder != int.MaxValue)
             .GroupBy(p => (p.ExecutionOrder, p.Module))
             .OrderBy(g => g.Key.ExecutionOrder)
             .Select(g => (g.Key.Module, Math.Sqrt(g.Sum(p => p.GradNorm * p.GradNorm)), g.Average(p => p.GradMeanAbs)))
             .ToList();

    /// <inheritdoc />
    public IEnumerable<Finding> Detect(StepObservations step, TrainingHistory history, DetectorThresholds t)
    {
        var findings = new List<Finding>();
        if (step.Sampled && step.Parameters.Count > 0)
        {
            var recent = history.GradientProfiles.Latest(t.Persistence).Select(Profile).ToList();
            // Non-finite gradients belong to the NaN/Inf detectors; all-zero gradients to dead units.
            if (recent.Count >= t.Persistence && recent.All(p => p.Count >= 2 && p.All(l => double.IsFinite(l.Norm)) && p[^1].Norm > 0))
            {
                var now = recent[^1];
                if (recent.All(p => IsVanishing(p, t)))
                    findings.Add(Vanishing(step.Step, now, t));
                else if (recent.All(p => Ratio(p) > t.ExplodingRatio))
                    findings.Add(Exploding(step.Step, now, history, now[0].Module, $"the first layer's gradient is {F(Ratio(now))}× the last layer's (above {F(t.ExplodingRatio)}) at {t.Persistence} sampled steps in a row"));
            }
            if (findings.Count == 0 && step.GlobalGradNorm is { } g && double.IsFinite(g))
            {
                // A jump is an explosion only when it lasts: the last Persistence sampled norms all above GradNormGrowth × the
                // median of the norms before them. One large batch gradient (common at tiny norms once a model is confident)
                // is not an explosion.
                var norms = history.GlobalGradNorms.Items().Select(x => x.Norm).ToList();
                int k = t.Persistence;
                if (norms.Count >= 5 + k - 1)
                {
                    var recentNorms = norms.Skip(norms.Count - k).ToList();
                    var med = Median(norms.Take(norms.Count - k));
                    if (med > 0 && recentNorms.All(n => double.IsFinite(n) && n > t.GradNormGrowth * med && n >= t.ExplodingGradNormFloor) &&
                        LossNotImproving(history, t))
                        findings.Add(Exploding(step.Step, Profile(step.Parameters), history, ModuleNames.Root,
                            $"the global gradient norm stayed above {F(t.GradNormGrowth)}× its earlier median {F(med)} for {k} sampled steps ({string.Join(", ", recentNorms.Select(F))}; now {F(g / med)}×)"));
                }
                if (findings.Count == 0 && norms.Count >= 5 && g >= t.ExplodingGradNorm)
                    findings.Add(Exploding(step.Step, Profile(step.Parameters), history, ModuleNames.Root, $"the global gradient norm is {F(g)} (≥ {F(t.ExplodingGradNorm)})"));
            }
        }
        if (step.Loss is { } loss && double.IsFinite(loss) && loss >= t.ExplodingLoss && findings.Count == 0)
        {
            var profile = Profile(step.Parameters.Count > 0 ? step.Parameters : history.GradientProfiles.Count > 0 ? history.GradientProfiles.Last : []);
            findings.Add(Exploding(step.Step, profile, history, ModuleNames.Root, $"the loss reached {F(loss)} (≥ {F(t.ExplodingLoss)})"));
        }
        return findings;
    }

    /// <summary>
    /// True when the loss is not improving: the mean of the last 5 finite losses is at least
    /// <see cref="DetectorThresholds.ExplodingLossRise"/> × the best 5-step mean before it (or fewer than 10 losses are known).
    /// Gradient norms of a healthy run grow 10× and more as it leaves the flat start (measured: Adam 1e-3 on the demo CNN,
    /// 0.28 at the start, 3–9 at step 76, loss falling); an explosion makes the loss rise with them.
    /// </summary>
    internal static bool LossNotImproving(TrainingHistory history, DetectorThresholds t)
    {
        var l = history.Losses.Items().Select(x => x.Loss).Where(double.IsFinite).ToList();
        if (l.Count < 10) return true;
        // One pass: a running sum over a 5-loss window gives every 5-step mean.
        double sum = 0, best = double.PositiveInfinity, recent = 0;
        for (int i = 0; i < l.Count; i++)
        {
            sum += l[i] - (i >= 5 ? l[i - 5] : 0);
            if (i < 4) continue;
            if (i == l.Count - 1) recent = sum / 5;
            else if (i <= l.Count - 6) best = Math.Min(best, sum / 5);   // windows that end before the recent one starts
        }
        // Measured from the best by its magnitude, so a loss below zero (an nll_loss on raw scores, falling without bound)
        // that keeps falling is improving, not "not improving".
        return double.IsFinite(best) && recent - best >= (t.ExplodingLossRise - 1) * Math.Abs(best);
    }

    private static double Ratio(List<(string Module, double Norm, double MeanAbs)> p)
        => p[^1].Norm > 0 ? p[0].Norm / p[^1].Norm : double.PositiveInfinity;

    private static bool IsVanishing(List<(string Module, double Norm, double MeanAbs)> p, DetectorThresholds t)
        => p[0].Norm > 0 && ((Ratio(p) < t.VanishingRatio && p[0].Norm < t.VanishingFirstNorm) ||
                             // DeepDiagnosis's tiny mean |dW|, only where the gradient shrinks towards the input (first layer below a tenth of
                             // the last): a confident, converged model has tiny gradients in every layer, and that is not vanishing.
                             (Ratio(p) < 0.1 && p.Any(l => l.MeanAbs > 0 && l.MeanAbs < t.VanishingMeanAbs)));

    private static Finding Vanishing(long step, List<(string Module, double Norm, double MeanAbs)> p, DetectorThresholds t)
    {
        // Where it collapses: consecutive layers (towards the input) where the norm drops more than 10×.
        var drops = new List<string>();
        for (int i = p.Count - 1; i > 0; i--)
            if (p[i].Norm > 0 && p[i - 1].Norm / p[i].Norm < 0.1)
                drops.Add($"{p[i].Module} → {p[i - 1].Module} (÷{F(p[i].Norm / Math.Max(p[i - 1].Norm, 1e-300))})");
        var smallest = p.MinBy(l => l.MeanAbs);
        var evidence = new Evidence
        {
            ["first layer"] = p[0].Module, ["‖g_first‖"] = EvidenceValue.Compact(p[0].Norm),
            ["last layer"] = p[^1].Module, ["‖g_last‖"] = EvidenceValue.Compact(p[^1].Norm),
            ["ratio first/last"] = EvidenceValue.Compact(Ratio(p)),
            ["smallest mean |dW|"] = $"{F(smallest.MeanAbs)} at {smallest.Module}",
            ["layer norms (input→output)"] = string.Join(", ", p.Select(l => F(l.Norm))),
        };
        if (drops.Count > 0) evidence["collapses between"] = string.Join("; ", drops);
        return Finding.Create(TrainingCodes.VanishingGradients, p[0].Module,
            $"Gradients vanish towards the input: the first layer ({p[0].Module}) gets {F(p[0].Norm)}, {F(Ratio(p))}× the last layer's {F(p[^1].Norm)}" +
            (drops.Count > 0 ? $"; the gradient collapses between {string.Join("; ", drops.Take(3))}." : "."),
            "Use non-saturating activations and matching init: `ReLU()`/`LeakyReLU()` with `init.kaiming_normal_(w)` instead of Sigmoid/Tanh; " +
            "add normalisation (`BatchNorm1d`/`LayerNorm`) between layers, or residual connections for deep stacks.",
            evidence, step);
    }

    /// <summary>An exploding-gradients finding at <paramref name="module"/>: where the rule measured (the first layer for the layer-ratio
    /// rule; the model, <see cref="ModuleNames.Root"/>, for the loss and global-norm rules). The largest layer gradient is evidence.</summary>
    private static Finding Exploding(long step, List<(string Module, double Norm, double MeanAbs)> p, TrainingHistory history, string module, string why)
    {
        var healthy = history.GlobalGradNorms.Items().Select(x => x.Norm).Where(double.IsFinite).ToList();
        var med = Median(healthy);
        // Clip near the smallest norm seen (the calmest point of the window), within the usual 0.1–5 range.
        double maxNorm = healthy.Count > 0 ? Math.Clamp(healthy.Min(), 0.1, 5) : 1.0;
        maxNorm = double.Parse(maxNorm.ToString("G2", System.Globalization.CultureInfo.InvariantCulture), System.Globalization.CultureInfo.InvariantCulture);
        var worst = p.Count > 0 ? p.Where(l => double.IsFinite(l.Norm)).DefaultIfEmpty(p[0]).MaxBy(l => l.Norm) : default;
        var evidence = new Evidence { ["why"] = why };
        if (p.Count > 0)
        {
            evidence["largest layer gradient"] = $"{F(worst.Norm)} at {worst.Module}";
            evidence["layer norms (input→output)"] = string.Join(", ", p.Select(l => F(l.Norm)));
        }
        if (healthy.Count > 0)
            evidence["global norm: median / max over window"] = $"{F(med)} / {F(healthy.Max())}";
        return Finding.Create(TrainingCodes.ExplodingGradients, module,
            $"Gradients are exploding: {why}.",
            $"Clip the gradient norm before optimizer.step(): `torch.nn.utils.clip_grad_norm_(model.parameters(), max_norm: {F(maxNorm)})` " +
            "(near the smallest norm measured in the window; GradientClipper reports how often it clips and the norm distribution); lower the learning rate (e.g. ÷10); " +
            "add normalisation layers; initialise with `init.kaiming_normal_`/`xavier_uniform_` instead of large weights.",
            evidence, step);
    }
}
