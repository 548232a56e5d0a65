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
                    new Evidence { ["‖Δw‖"] = "0", ["‖w‖"] = EvidenceValue.Compact(last.WeightNorm), ["steps"] = string.Join(", ", recent.Select(u => u.Step)) }, step.Step);
                continue;
            }
            if (last.Rank < 2 || recent.Any(u => !u.HasGradient) || step.Step < t.UpdateRatioWarmupSteps) continue;
            recent = recent.Where(u => u.Step >= t.UpdateRatioWarmupSteps).ToList();
            if (recent.Count < t.Persistence) continue;
            var all = w.Items().Where(u => u.HasGradient && u.Step >= t.UpdateRatioWarmupSteps).Select(u => u.Ratio).ToList();
            var med = Median(all);
            // The message prints the evidence's numbers: the one the rule tested (the median) and the threshold.
            var medV = EvidenceValue.Compact(med, EvidenceUnit.Ratio);
            if (recent.All(u => u.Ratio > t.UpdateRatioHigh))
                yield return Finding.Create(TrainingCodes.UpdateRatioHigh, last.Module,
                    $"{name} changes by {medV} of its norm per step (median over {all.Count} sampled steps), above {F(t.UpdateRatioHigh)}: the learning rate is too high for this layer.",
                    $"Lower the learning rate (a ratio near 1e-3 is healthy: try lr × {F(1e-3 / med)}), or give this layer its own param group with a smaller lr; add warmup.",
                    new Evidence { ["median ‖Δw‖/‖w‖"] = medV, ["latest"] = EvidenceValue.Compact(last.Ratio, EvidenceUnit.Ratio), ["‖w‖"] = EvidenceValue.Compact(last.WeightNorm) }, step.Step);
            else if (recent.All(u => u.Ratio > 0 && u.Ratio < t.UpdateRatioLow) && !Vanishing(last.Module))
                yield return Finding.Create(TrainingCodes.UpdateRatioLow, last.Module,
                    $"{name} changes by only {medV} of its norm per step (median over {all.Count} sampled steps), below {F(t.UpdateRatioLow)}: it barely learns.",
                    $"Raise the learning rate (a ratio near 1e-3 is healthy: try lr × {F(Math.Min(1e3, 1e-3 / med))}), or check for vanishing gradients and weight decay that cancels the updates.",
                    new Evidence { ["median ‖Δw‖/‖w‖"] = medV, ["latest"] = EvidenceValue.Compact(last.Ratio, EvidenceUnit.Ratio), ["‖w‖"] = EvidenceValue.Compact(last.WeightNorm) }, step.Step);
        }

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
}
