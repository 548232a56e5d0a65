using TorchDoctor.Findings;
using TorchDoctor.Observations;
using static TorchDoctor.Detectors.TrainingDetectors;

namespace TorchDoctor.Detectors;

/// <summary>
/// Where NaN/Inf comes from. Forward: the first module, in the order calls finished, whose output is
/// non-finite while its inputs were finite (so the innermost culprit, not its containers), with the
/// likely operation. Backward: when the forward pass was finite, the first module (nearest the loss) whose
/// incoming gradient is non-finite, and the first parameter with a non-finite gradient. Also a non-finite loss.
/// </summary>
public sealed class NonFiniteDetector : ITrainingDetector
{
    /// <inheritdoc />
    public ObservationKinds Needs => ObservationKinds.Loss | ObservationKinds.Activations | ObservationKinds.ActivationGradients | ObservationKinds.Parameters;

    /// <inheritdoc />
    public bool RunsAfterDivergence => true;

    /// <summary>Evidence key present when activation gradients located the backward origin precisely.</summary>
    public const string LastFiniteKey = "last finite output gradient (backward order)";

    /// <summary>The likely operation behind a non-finite output, from its NaN/±Inf counts and its input's range.</summary>
    public static string GuessOperation(ActivationObservation a)
    {
        bool zeros = a.InputZeros is > 0;
        double magnitude = Math.Max(Math.Abs(a.InputMin ?? 0), Math.Abs(a.InputMax ?? 0));
        if (magnitude > 1e15) return $"overflow: its input already reaches {F(magnitude)}, so sums of products exceed the float range (exploding activations)";
        if (a.NegInf > 0 && zeros && a.InputMin >= 0) return "log of 0 (log(0) = -inf)";
        if (a.NaN > 0 && a.InputMin < 0 && a.PosInf == 0 && a.NegInf == 0) return "log or sqrt of a negative value (gives NaN)";
        if (a.PosInf > 0 && a.InputMax > 80) return "overflow: exp/pow of a large value";
        if ((a.PosInf > 0 || a.NegInf > 0) && zeros) return "division by zero";
        if (a.NaN > 0 && zeros) return "0/0 or 0×inf";
        if (a.PosInf > 0 || a.NegInf > 0) return "overflow (values beyond the dtype's range)";
        return "an invalid operation (NaN)";
    }

    /// <inheritdoc />
    public IEnumerable<Finding> Detect(StepObservations step, TrainingHistory history, DetectorThresholds t)
    {
        var bad = step.Activations.Where(a => a.NonFinite > 0).OrderBy(a => a.ExitOrder).ToList();
        var origin = bad.FirstOrDefault(a => a.InputNonFinite == 0 && !a.ParametersNonFinite);
        if (origin is not null)
        {
            var op = GuessOperation(origin);
            yield return Finding.Create(TrainingCodes.NonFiniteForward, origin.Module,
                $"{origin.Module} ({origin.ModuleType}) produced {origin.NonFinite:N0} non-finite values from finite inputs at step {step.Step}: likely {op}.",
                op.StartsWith("overflow: its input", StringComparison.Ordinal)
                    ? "The activations explode before this layer: fix the exploding-gradients/weights finding (initialisation, learning rate, gradient clipping, normalisation layers)."
                    : op.StartsWith("log", StringComparison.Ordinal)
                    ? "Keep the argument positive: `torch.log(x + 1e-6)` or `torch.log(x.clamp_min(1e-6))` (or `log1p` for log(1 + x)); use `log_softmax` instead of `log(softmax(x))`."
                    : op.StartsWith("division", StringComparison.Ordinal) || op.StartsWith("0/0", StringComparison.Ordinal)
                        ? "Guard the denominator: `x / (d + 1e-6)` or `d.clamp_min(1e-6)`."
                        : "Bound the values: lower the learning rate, clip gradients, use numerically stable forms (`logsumexp`, `log_softmax`, `BCEWithLogits`), or compute in float32 instead of float16.",
                new Evidence
                {
                    ["likely operation"] = op,
                    ["NaN / +Inf / -Inf"] = $"{origin.NaN} / {origin.PosInf} / {origin.NegInf} of {origin.Elements:N0}",
                    ["input range (finite)"] = origin.InputMin is null ? "?" : $"[{F(origin.InputMin.Value)}, {F(origin.InputMax!.Value)}]",
                    ["input zeros"] = origin.InputZeros is { } zeros ? EvidenceValue.Count(zeros) : "?",
                    ["modules downstream with non-finite output"] = EvidenceValue.Count(bad.Count - 1),
                }, step.Step);
        }
        else if (bad.Count > 0 && bad[0] is { ParametersNonFinite: false, InputNonFinite: > 0 } first)
        {
            yield return Finding.Create(TrainingCodes.NonFiniteForward, first.Module,
                $"The input of {first.Module} ({first.ModuleType}), the first module to run, already holds {first.InputNonFinite:N0} non-finite values at step {step.Step}: the data batch contains NaN/Inf.",
                "Check the data: `torchdoctor check-data` finds NaN samples with their indices; drop or impute them before training.",
                new Evidence { ["non-finite inputs"] = EvidenceValue.Count(first.InputNonFinite) }, step.Step);
        }

        bool forwardFinite = bad.Count == 0;
        var allGrads = step.ActivationGradients.OrderBy(g => g.BackwardOrder).ToList();
        var grads = allGrads.Where(g => g.NonFinite > 0).ToList();
        var badParams = step.Parameters.Where(p => p.GradNonFinite > 0).OrderByDescending(p => p.ExecutionOrder).ToList();
        if (forwardFinite && step.Loss is { } l0 && double.IsFinite(l0) && (grads.Count > 0 || badParams.Count > 0))
        {
            // The gradient of a module's output is finite, the next one backward reaches is not: the backward of the
            // module between them (the consumer of that output) made it.
            var before = grads.Count > 0 ? allGrads.LastOrDefault(g => g.BackwardOrder < grads[0].BackwardOrder && g.NonFinite == 0) : null;
            var where = before?.Module ?? (grads.Count > 0 ? grads[0].Module : badParams[0].Module);
            var evidence = new Evidence();
            if (grads.Count > 0) evidence["first module whose output gradient is non-finite"] = $"{grads[0].Module} ({grads[0].NonFinite:N0} values)";
            if (before is not null) evidence[LastFiniteKey] = $"{before.Module} (norm {F(before.Norm)})";
            if (badParams.Count > 0) evidence["first parameter with a non-finite gradient"] = $"{badParams[0].Name} ({badParams[0].GradNonFinite:N0} values)";
            yield return Finding.Create(TrainingCodes.NonFiniteBackward, where,
                before is not null
                    ? $"The forward pass and the loss were finite at step {step.Step}, but the backward pass produced NaN/Inf in the backward of {where}: the gradient at its output is finite, the gradient it passes on to {grads[0].Module} is not."
                    : $"The forward pass and the loss were finite at step {step.Step}, but the backward pass produced NaN/Inf, first at {where}" +
                      (grads.Count == 0 ? " (the first parameter, in backward order, with a non-finite gradient; activation gradients are watched from the next step to narrow it down)." : "."),
                "An operation with an infinite derivative at the values it saw is the usual cause: sqrt or pow(x, <1) at 0, log near 0, division by a tiny number, norm of a zero vector. " +
                "Add an epsilon (`(x + 1e-12).sqrt()`), or enable DoctorOptions.Anomaly to get libtorch's name for the failing backward function.",
                evidence, step.Step);
        }

        if (step.Loss is { } loss && !double.IsFinite(loss))
        {
            var poisoned = bad.FirstOrDefault(a => a.ParametersNonFinite);
            yield return Finding.Create(TrainingCodes.NonFiniteLoss, origin?.Module ?? poisoned?.Module,
                $"The loss is {(double.IsNaN(loss) ? "NaN" : "infinite")} at step {step.Step}" +
                (origin is not null ? $"; the non-finite values start at {origin.Module}." :
                 poisoned is not null ? $"; the weights of {poisoned.Module} are already non-finite (an earlier update wrote NaN/Inf into them)." : "."),
                origin is null && poisoned is null
                    ? "Check the loss inputs: use `cross_entropy` on logits (not log of softmax), `BCEWithLogitsLoss` instead of sigmoid + BCE, and targets in range."
                    : origin is not null ? $"Fix the origin first (see the nonfinite-forward finding for {origin.Module})."
                    : "Find the step where the gradients first went non-finite or exploded (earlier findings) and fix that; clip gradients and lower the learning rate.",
                new Evidence { ["loss"] = EvidenceValue.Of(loss, "R") }, step.Step);
        }
    }
}
