using TorchDoctor.Findings;
using TorchDoctor.Observations;
using static TorchDoctor.Detectors.TrainingDetectors;

namespace TorchDoctor.Detectors;

/// <summary>
/// Parameters that do not train as they should: frozen (gradient but no change for
/// <see cref="DetectorThresholds.Persistence"/> sampled steps), update ratio ‖Δw‖/‖w‖ out of range
/// (median over the window of weights, rank ≥ 2), unused (requires a gradient but receives none), and
/// modules whose hooks never fired while their parameters got gradients (hook bypass).
/// </summary>
public sealed class ParameterDetector : ITrainingDetector
{
    /// <summary>
    /// (relative drop, fraction of the initial loss) when the loss has stalled: over the loss window the later half's mean is
    /// less than <see cref="DetectorThresholds.StalledLossDrop"/> below the earlier half's, and it is still above
    /// <see cref="DetectorThresholds.StalledLossFraction"/> of the initial loss; null when it is learning or unknown.
    /// </summary>
    public static (double Drop, double Fraction)? LossStalled(TrainingHistory history, DetectorThresholds t)
    {
        var losses = history.Losses.Items().Select(x => x.Loss).Where(double.IsFinite).ToList();
        if (losses.Count < 20 || history.InitialLoss is not { } initial || initial <= 0) return null;
        int half = losses.Count / 2;
        double early = losses.Take(half).Average(), late = losses.Skip(half).Average();
        double drop = early > 0 ? (early - late) / early : 0;
        double fraction = late / initial;
        return drop < t.StalledLossDrop && fraction > t.StalledLossFraction ? (drop, fraction) : null;
    }

    /// <inheritdoc />
    public ObservationKinds Needs => ObservationKinds.Parameters | ObservationKinds.Updates;

    /// <inheritdoc />
    public IEnumerable<Finding> Detect(StepObservations step, TrainingHistory history, DetectorThresholds t)
    {
        if (!step.Sampled) yield break;
        // Layers whose gradient is tiny next to the output layer's: slow or zero updates there are the
        // vanishing-gradient finding's business, not the learning rate's.
        var profile = GradientFlowDetector.Profile(step.Parameters);
        double lastNorm = profile.Count > 0 ? profile[^1].Norm : 0;
        bool Vanishing(string module) => lastNorm > 0 && profile.Any(l => l.Module == module && l.Norm / lastNorm < 100 * t.VanishingRatio);
        var low = new List<(string Name, string Module, double Median, UpdateObservation Last)>();
        var weights = step.Updates.Where(u => u.Rank >= 2 && u.RequiresGrad && u.HasGradient).Select(u => u.Name).ToHashSet();
        foreach (var name in step.Updates.Select(u => u.Name))
        {
            var w = history.Updates(name);
            if (w is null || w.Count < t.Persistence) continue;
            var recent = w.Latest(t.Persistence).ToList();
            var last = recent[^1];
            if (!last.RequiresGrad) continue;
            if (recent.All(u => u.HasGradient && u.GradNorm > 0 && u.UpdateNorm == 0) && !Vanishing(last.Module))
            {
                yield return Finding.Create(TrainingCodes.FrozenParameter, last.Module,
                    $"{name} receives gradients but did not change at {recent.Count} sampled steps in a row.",
                    "Make sure the optimizer holds it: build it from `model.parameters()` after the model is complete (layers added later are missing), " +
                    "check its learning rate is not 0, or set `requires_grad = false` if it is meant to be frozen.",
                    new Evidence { ["parameter"] = name, ["‖Δw‖"] = EvidenceValue.Compact(0), ["‖w‖"] = EvidenceValue.Compact(last.WeightNorm), ["steps"] = string.Join(", ", recent.Select(u => u.Step)) }, step.Step);
                continue;
            }
            if (last.Rank < 2 || recent.Any(u => !u.HasGradient) || recent.Any(u => u.Step < t.UpdateRatioWarmupSteps)) continue;
            // The number printed is the number tested: the median of the sampled steps the rule looked at.
            var med = Median(recent.Select(u => u.Ratio));
            var steps = string.Join(", ", recent.Select(u => u.Step));
            if (recent.All(u => u.Ratio > t.UpdateRatioHigh))
                yield return Finding.Create(TrainingCodes.UpdateRatioHigh, last.Module,
                    $"{name} changes by {F(med)} of its norm per step (median of sampled steps {steps}), above {F(t.UpdateRatioHigh)}: the learning rate is too high for this layer.",
                    $"Lower the learning rate (a ratio near 1e-3 is healthy: try lr × {F(1e-3 / med)}), or give this layer its own param group with a smaller lr; add warmup.",
                    new Evidence { ["median ‖Δw‖/‖w‖"] = EvidenceValue.Compact(med, EvidenceUnit.Ratio), ["threshold"] = EvidenceValue.Compact(t.UpdateRatioHigh, EvidenceUnit.Ratio), ["latest"] = EvidenceValue.Compact(last.Ratio, EvidenceUnit.Ratio), ["‖w‖"] = EvidenceValue.Compact(last.WeightNorm), ["steps"] = steps }, step.Step);
            else if (recent.All(u => u.Ratio > 0 && u.Ratio < t.UpdateRatioLow) && !Vanishing(last.Module))
                low.Add((name, last.Module, med, last));
        }
        if (low.Count > 0 && LossStalled(history, t) is { } stall)
        {
            var (drop, fraction) = stall;
            var lossEvidence = $"fell {drop:P1} over the last {history.Losses.Count} steps; at {fraction:P0} of its initial value";
            if (weights.Count >= 2 && weights.All(n => low.Any(l => l.Name == n)))
            {
                // Every weight of the model moves too little: one cause (the learning rate), one finding, at the root.
                var top = low.MaxBy(l => l.Median);
                yield return Finding.Create(TrainingCodes.UpdateRatioLow, ModuleNames.Root,
                    $"Every weight of the model changes by at most {F(top.Median)} of its norm per step (median over the last {t.Persistence} sampled steps; largest at {top.Name}), " +
                    $"below {F(t.UpdateRatioLow)}, and the loss barely moves ({lossEvidence}): the learning rate is too low.",
                    $"Raise the learning rate (a ratio near 1e-3 is healthy: try lr × {F(Math.Min(1e3, 1e-3 / top.Median))}).",
                    new Dictionary<string, string>
                    {
                        ["largest median ‖Δw‖/‖w‖"] = $"{F(top.Median)} at {top.Name}", ["threshold"] = EvidenceValue.Compact(t.UpdateRatioLow, EvidenceUnit.Ratio),
                        ["layers"] = string.Join(", ", low.Select(l => $"{l.Name} {F(l.Median)}")), ["loss"] = lossEvidence,
                    }, step.Step);
            }
            else
                foreach (var (name, module, med, last) in low)
                    yield return Finding.Create(TrainingCodes.UpdateRatioLow, module,
                        $"{name} changes by only {F(med)} of its norm per step (median over the last {t.Persistence} sampled steps), below {F(t.UpdateRatioLow)}, " +
                        $"and the loss barely moves ({lossEvidence}): it barely learns.",
                        $"Raise this layer's learning rate (its own param group; a ratio near 1e-3 is healthy: try lr × {F(Math.Min(1e3, 1e-3 / med))}), or check for weight decay that cancels its updates.",
                        new Evidence { ["median ‖Δw‖/‖w‖"] = EvidenceValue.Compact(med, EvidenceUnit.Ratio), ["threshold"] = EvidenceValue.Compact(t.UpdateRatioLow, EvidenceUnit.Ratio), ["latest"] = EvidenceValue.Compact(last.Ratio, EvidenceUnit.Ratio), ["‖w‖"] = EvidenceValue.Compact(last.WeightNorm), ["loss"] = lossEvidence }, step.Step);
        }

        if (Rescaled(step, history, t) is { } rescaled) yield return rescaled;

        foreach (var name in step.Parameters.Where(p => p.RequiresGrad && !p.HasGradient).Select(p => p.Name))
        {
            var w = history.Parameter(name);
            if (w is null || w.Count < t.Persistence) continue;
            var recent = w.Latest(t.Persistence).ToList();
            if (!recent.All(p => p.RequiresGrad && !p.HasGradient)) continue;
            var last = recent[^1];
            bool ran = last.ExecutionOrder != int.MaxValue;
            yield return Finding.Create(TrainingCodes.UnusedParameter, last.Module,
                $"{name} requires a gradient but received none at {recent.Count} sampled steps in a row" +
                (ran ? " although its module ran." : "; its module did not run."),
                ran
                    ? "Its output does not reach the loss: look for `.detach()`, `no_grad`, integer casts or unused outputs; freeze it with `requires_grad = false` if intended."
                    : "Call the module in forward, or remove it; weight decay still changes unused parameters in some optimizers.",
                new Evidence { ["steps"] = string.Join(", ", recent.Select(p => p.Step)) }, step.Step);
        }

        if (step.Parameters.Count > 0 && step.ModulesThatRan.Count > 0)
        {
            foreach (var g in step.Parameters.Where(p => p.HasGradient && p.ExecutionOrder == int.MaxValue).GroupBy(p => p.Module))
            {
                if (step.ModulesThatRan.Contains(g.Key)) continue;
                var name = g.Key.Contains('.') ? g.Key[(g.Key.LastIndexOf('.') + 1)..] : g.Key;
                yield return Finding.Create(StructureCodes.HookBypassed, g.Key,
                    $"{g.Key}'s parameters received gradients at step {step.Step} but its hooks never fired: its parent calls {name}.forward(x). Its activations and timings are invisible to TorchDoctor.",
                    $"In the parent's forward, replace `{name}.forward(x)` with `{name}.call(x)`.",
                    new Evidence { ["parameters with gradient"] = string.Join(", ", g.Select(p => p.Name)) }, step.Step);
            }
        }
    }

    /// <summary>
    /// Gradients scaled down between backward and the optimizer step (SGD only): every weight with a gradient moved by less than
    /// <see cref="DetectorThresholds.RescaledUpdateFraction"/> of lr × ‖g‖ at <see cref="DetectorThresholds.Persistence"/>
    /// sampled steps in a row. Adam-family steps do not scale with ‖g‖, so they say nothing here.
    /// </summary>
    internal static Finding? Rescaled(StepObservations step, TrainingHistory history, DetectorThresholds t)
    {
        var weights = step.Updates.Where(u => u.Rank >= 2 && u.RequiresGrad && u.HasGradient && u.GradNorm > 0 && u.SgdLearningRate is > 0).ToList();
        if (weights.Count == 0) return null;
        var factors = new List<double>();
        foreach (var u in weights)
        {
            var w = history.Updates(u.Name);
            if (w is null || w.Count < t.Persistence) return null;
            var recent = w.Latest(t.Persistence).ToList();
            if (!recent.All(r => r.HasGradient && r.GradNorm > 0 && r.SgdLearningRate is > 0 && r.UpdateNorm < t.RescaledUpdateFraction * r.SgdLearningRate.Value * r.GradNorm))
                return null;
            factors.Add(recent[^1].UpdateNorm / (recent[^1].SgdLearningRate!.Value * recent[^1].GradNorm));
        }
        double largest = factors.Max(), median = Median(factors);
        var norms = history.GlobalGradNorms.Items().Select(x => x.Norm).Where(double.IsFinite).ToList();
        double typical = norms.Count > 0 ? Median(norms) : double.NaN;
        string clipTo = double.IsFinite(typical) ? double.Parse(Math.Max(typical, 1e-3).ToString("G1", System.Globalization.CultureInfo.InvariantCulture), System.Globalization.CultureInfo.InvariantCulture).ToString(System.Globalization.CultureInfo.InvariantCulture) : "1.0";
        return Finding.Create(TrainingCodes.GradientsRescaled, ModuleNames.Root,
            $"With SGD every weight moved by at most {F(largest)} of lr × ‖g‖ (median {F(median)}) at {t.Persistence} sampled steps in a row, below {F(t.RescaledUpdateFraction)}; " +
            $"a plain SGD step moves a weight by lr × ‖g‖: the gradients were scaled down ~{F(1 / median)}× between doctor.AfterBackward and optimizer.step()" +
            (double.IsFinite(typical) ? $" (the gradient norm measured after backward has a median of {F(typical)})" : "") + ".",
            $"Clip at or above the usual gradient norm, e.g. `torch.nn.utils.clip_grad_norm_(model.parameters(), max_norm: {clipTo})` (a max_norm far below the norm shrinks every step), or remove the manual scaling; `GradientClipper` reports how often it clips.",
            new Evidence
            {
                ["largest ‖Δw‖ / (lr × ‖g‖)"] = EvidenceValue.Compact(largest, EvidenceUnit.Ratio), ["median"] = EvidenceValue.Compact(median, EvidenceUnit.Ratio),
                ["threshold"] = EvidenceValue.Compact(t.RescaledUpdateFraction, EvidenceUnit.Ratio), ["weights"] = EvidenceValue.Count(weights.Count),
                ["median global gradient norm"] = double.IsFinite(typical) ? F(typical) : "unknown",
            }, step.Step);
    }
}
