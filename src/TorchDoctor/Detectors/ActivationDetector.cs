using TorchDoctor.Findings;
using TorchDoctor.Observations;
using static TorchDoctor.Detectors.TrainingDetectors;

namespace TorchDoctor.Detectors;

/// <summary>
/// Dead ReLU (DeepDiagnosis: ≥ 70% of a ReLU layer's outputs ≤ 0 at every one of at least
/// <see cref="DetectorThresholds.Persistence"/> consecutive sampled steps that together span
/// <see cref="DetectorThresholds.DeadReluMinSteps"/> training steps: a dead unit stays dead, a transient at initialisation
/// recovers; and at least <see cref="DetectorThresholds.DeadReluUnitFraction"/> of its units fired in no batch of that run,
/// or ≥ <see cref="DetectorThresholds.DeadReluOutputFraction"/> of its outputs are zero: a sparse layer is not dead) and saturated sigmoid/tanh (&gt; 50% of pre-activations beyond ±5, same persistence).
/// </summary>
public sealed class ActivationDetector : ITrainingDetector
{
    /// <summary>
    /// True when <paramref name="module"/> produced the model's output at this step: every module that finished after it is one
    /// of its ancestors (containers finish after their children), so nothing computed on its output inside the model.
    /// </summary>
    public static bool IsModelOutput(IReadOnlyList<ActivationObservation> step, string module)
    {
        var self = step.Where(a => a.Module == module).MaxBy(a => a.ExitOrder);
        if (self is null) return false;
        return step.Where(a => a.ExitOrder > self.ExitOrder)
                   .All(a => a.Module == ModuleNames.Root || module.StartsWith(a.Module + ".", StringComparison.Ordinal));
    }

    /// <summary>
    /// The newest run of consecutive sampled steps at or above the dead-ReLU fraction, oldest first, when it is long enough to call
    /// the layer dead: at least <see cref="DetectorThresholds.Persistence"/> samples spanning at least
    /// <see cref="DetectorThresholds.DeadReluMinSteps"/> training steps (first to last, inclusive), or every sample the history
    /// window holds (sampling every step, the window may hold fewer steps than the span). Null otherwise.
    /// </summary>
    public static IReadOnlyList<ActivationObservation>? DeadRun(Window<ActivationObservation> w, DetectorThresholds t)
    {
        ArgumentNullException.ThrowIfNull(w);
        ArgumentNullException.ThrowIfNull(t);
        int first = w.Count;
        while (first > 0 && w[first - 1].ZeroFraction is { } z && z >= t.DeadReluFraction) first--;
        int n = w.Count - first;
        if (n < t.Persistence) return null;
        long span = w[w.Count - 1].Step - w[first].Step + 1;
        if (span < t.DeadReluMinSteps && n < w.Capacity) return null;
        return Enumerable.Range(first, n).Select(i => w[i]).ToList();
    }

    /// <summary>
    /// The dead-ReLU finding for a run of mostly-zero sampled steps, or null for a sparse layer. A sparse layer is not dead: its
    /// units take turns. Dead means the units that fired in no batch of the run (the probe's union) reach
    /// <see cref="DetectorThresholds.DeadReluUnitFraction"/>, or the outputs are almost all zero
    /// (<see cref="DetectorThresholds.DeadReluOutputFraction"/>); without a batch dimension to keep a union over, the zero
    /// fraction alone decides (DeepDiagnosis).
    /// </summary>
    internal static Finding? DeadRelu(string module, string type, IReadOnlyList<ActivationObservation> off, DetectorThresholds t, long step)
    {
        double frac = off.Average(a => a.ZeroFraction ?? 0);
        double? never = off[^1].NeverFiredFraction;
        bool unitsDead = never is not { } u0 || u0 >= t.DeadReluUnitFraction;
        if (!unitsDead && frac < t.DeadReluOutputFraction) return null;
        long from = off[0].Step, to = off[^1].Step;
        string units = never is { } u
            ? unitsDead
                ? $"; {u:P0} of its units fired for no sample in any batch of that run (at least {t.DeadReluUnitFraction:P0} needed): they are dead."
                : $"; only {u:P0} of its units fired for no sample in any batch of that run, but on average {frac:P0} of its outputs are zero (at least {t.DeadReluOutputFraction:P0}): it passes almost nothing on."
            : ".";
        var ev = new Evidence
        {
            ["outputs ≤ 0"] = EvidenceValue.Percent(frac),
            ["threshold"] = EvidenceValue.Percent(t.DeadReluFraction, "P0"),
            ["steps"] = $"{from}–{to} ({off.Count} sampled; ≥ {t.DeadReluMinSteps} steps needed)",
        };
        if (never is { } n) ev["units that never fired in the run"] = EvidenceValue.Percent(n);
        return Finding.Create(TrainingCodes.DeadRelu, module,
            $"{module} ({type}) outputs zero for {frac:P0} of its inputs from step {from} to step {to} ({off.Count} sampled steps, none below {t.DeadReluFraction:P0}){units}",
            "Lower the learning rate; replace it with `LeakyReLU(0.01)` (or ELU/GELU) so units can recover; " +
            "initialise the layer before it with `init.kaiming_normal_` and zero biases (large negative biases kill units); add BatchNorm before the ReLU.",
            ev, step);
    }

    /// <inheritdoc />
    public ObservationKinds Needs => ObservationKinds.Activations;

    /// <inheritdoc />
    public IEnumerable<Finding> Detect(StepObservations step, TrainingHistory history, DetectorThresholds t)
    {
        if (!step.Sampled) yield break;
        foreach (var module in step.Activations.Where(a => !a.FinitenessOnly).Select(a => a.Module).Distinct())
        {
            var w = history.Activations(module);
            if (w is null || w.Count < t.Persistence) continue;
            var recent = w.Latest(t.Persistence).ToList();
            var last = recent[^1];
            if (last.ZeroFraction is not null && DeadRun(w, t) is { } off && DeadRelu(module, last.ModuleType, off, t, step.Step) is { } dead)
                yield return dead;
            // The model's output activation (a sigmoid/tanh producing the prediction itself) is meant to saturate once the model
            // is confident, and its loss (binary_cross_entropy) cancels the flat slope: not a finding.
            if (last.SaturatedFraction is not null && recent.All(a => a.SaturatedFraction > t.SaturationFraction) && !IsModelOutput(step.Activations, module))
            {
                var frac = recent.Average(a => a.SaturatedFraction ?? 0);
                yield return Finding.Create(TrainingCodes.SaturatedActivation, module,
                    $"{module} ({last.ModuleType}) is saturated: {frac:P0} of its pre-activations are beyond ±{F(t.SaturationLimit)}, where its gradient is nearly 0.",
                    "Normalise its input (`BatchNorm1d`/`LayerNorm` before the activation), use smaller initial weights (`init.xavier_uniform_`), " +
                    "scale the input data, or switch to ReLU-family activations.",
                    new Evidence
                    {
                        ["pre-activations beyond limit"] = EvidenceValue.Percent(frac),
                        ["output mean / std"] = $"{F(last.Mean)} / {F(last.Std)}",
                        ["steps"] = string.Join(", ", recent.Select(a => a.Step)),
                    }, step.Step);
            }
        }
    }
}
