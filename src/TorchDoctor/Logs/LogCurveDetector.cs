using System.Globalization;
using TorchDoctor.Findings;
using TorchDoctor.Detectors;
using TorchDoctor.Observations;

namespace TorchDoctor.Logs;

/// <summary>
/// Runs the curve detectors (<see cref="CurveDetectors"/>, the same rules the doctor runs during training) over curves
/// read from a log. A log has no epochs, so each validation point is one evaluation: its record carries the mean
/// training loss since the previous one, the validation loss and accuracies, and its step. Step losses (and the learning
/// rate when logged) become the step records. A non-finite training loss in the log is reported as TD2007 at its step
/// (the step-block rules skip non-finite values). The overfitting finding is given the onset step: the step of the best
/// evaluation.
/// </summary>
public static class LogCurveDetector
{
    /// <summary>The curve findings of <paramref name="c"/>, each message prefixed with the run name.</summary>
    public static IReadOnlyList<Finding> Detect(CurveSet c, CurveThresholds? t = null, IReadOnlyList<ScalarPoint>? learningRate = null)
    {
        ArgumentNullException.ThrowIfNull(c);
        var (curve, evalSteps) = ToCurve(c, learningRate);
        var found = new List<Finding>();
        if (c.TrainLoss.FirstOrDefault(p => !double.IsFinite(p.Value)) is { } bad && !double.IsFinite(bad.Value))
        {
            var lastFinite = c.TrainLoss.TakeWhile(p => double.IsFinite(p.Value)).Select(p => p.Value).DefaultIfEmpty(double.NaN).Last();
            found.Add(Finding.Create(TrainingCodes.NonFiniteLoss, null,
                $"{c.Run}: training loss ({c.TrainLossTag}) became {bad.Value.ToString(CultureInfo.InvariantCulture)} at step {bad.Step} (last finite value {lastFinite.ToString("G4", CultureInfo.InvariantCulture)}).",
                "Lower the learning rate, clip gradients (new GradientClipper(model.parameters(), 1.0).Clip() before optimizer.step()), guard log/division in the loss; " +
                "attach the doctor (Doctor.Attach) to name the layer where NaN/Inf starts.",
                new Dictionary<string, string> { ["step"] = bad.Step.ToString(CultureInfo.InvariantCulture), ["value"] = bad.Value.ToString(CultureInfo.InvariantCulture), ["last finite loss"] = lastFinite.ToString("G6", CultureInfo.InvariantCulture) },
                bad.Step));
        }
        foreach (var f in CurveDetectors.Detect(curve, t))
        {
            var g = f with { Message = $"{c.Run}: {f.Message}" };
            if (f.Code == ConvergenceCodes.Overfitting.Code && f.Evidence.TryGetValue("best epoch", out var be) &&
                int.TryParse((string)be, NumberStyles.Integer, CultureInfo.InvariantCulture, out var epoch) && epoch >= 0 && epoch < evalSteps.Count)
            {
                long onset = evalSteps[epoch];
                var ev = f.Evidence.WithMissing(new Evidence { ["onset step"] = EvidenceValue.Count(onset) });
                g = g with { Step = onset, Evidence = ev, Message = $"{c.Run}: overfitting from step {onset} (evaluation {epoch} of the log). {f.Message}" };
            }
            found.Add(g);
        }
        return found;
    }

    /// <summary>The log's curves as a <see cref="TrainingCurve"/>; also the step of each evaluation (epoch index → step).</summary>
    public static (TrainingCurve Curve, IReadOnlyList<long> EvalSteps) ToCurve(CurveSet c, IReadOnlyList<ScalarPoint>? learningRate = null)
    {
        ArgumentNullException.ThrowIfNull(c);
        var lrByStep = new Dictionary<long, double>();
        foreach (var p in learningRate ?? []) lrByStep[p.Step] = p.Value;
        var steps = c.TrainLoss.Select(p => new StepRecord(p.Step, p.Value, lrByStep.TryGetValue(p.Step, out var lr) ? lr : null)).ToList();
        var epochs = new List<EpochRecord>();
        var evalSteps = new List<long>();
        static double? At(IReadOnlyList<ScalarPoint> s, long step)
        {
            foreach (var p in s) if (p.Step == step) return p.Value;
            return null;
        }
        long previous = long.MinValue;
        foreach (var v in c.ValLoss)
        {
            var window = c.TrainLoss.Where(p => p.Step > previous && p.Step <= v.Step && double.IsFinite(p.Value)).ToList();
            if (window.Count == 0)
                window = c.TrainLoss.Where(p => p.Step <= v.Step && double.IsFinite(p.Value)).TakeLast(1).ToList();
            if (window.Count == 0) { previous = v.Step; continue; }
            epochs.Add(new EpochRecord
            {
                Epoch = epochs.Count,
                TrainLoss = window.Average(p => p.Value),
                ValLoss = v.Value,
                TrainAccuracy = At(c.TrainAccuracy, v.Step),
                ValAccuracy = At(c.ValAccuracy, v.Step),
                LearningRate = lrByStep.TryGetValue(v.Step, out var lr) ? lr : null,
                Step = v.Step,
            });
            evalSteps.Add(v.Step);
            previous = v.Step;
        }
        var curve = new TrainingCurve
        {
            Epochs = epochs,
            Steps = steps,
            InitialLosses = steps.Take(20).Select(s => s.Loss).ToList(),
            PeakLearningRate = lrByStep.Count == 0 ? null : lrByStep.Values.Max(),
        };
        return (curve, evalSteps);
    }

    /// <summary>Averages a long series into at most <paramref name="bins"/> contiguous bins (each keeps its last step); for charts.</summary>
    public static List<ScalarPoint> Bin(IReadOnlyList<ScalarPoint> s, int bins)
    {
        ArgumentNullException.ThrowIfNull(s);
        if (s.Count <= bins) return s.ToList();
        var result = new List<ScalarPoint>(bins);
        for (int b = 0; b < bins; b++)
        {
            int from = (int)((long)b * s.Count / bins), to = (int)((long)(b + 1) * s.Count / bins);
            double sum = 0;
            for (int i = from; i < to; i++) sum += s[i].Value;
            result.Add(new ScalarPoint(s[to - 1].Step, sum / (to - from), s[to - 1].WallTime));
        }
        return result;
    }
}
