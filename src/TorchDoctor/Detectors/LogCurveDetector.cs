using TorchDoctor.Observations;
using System.Globalization;
using TorchDoctor.Findings;

namespace TorchDoctor.Detectors;

/// <summary>Thresholds of <see cref="LogCurveDetector"/> (documented in docs/findings.md, TD6xxx).</summary>
public sealed record LogCurveThresholds
{
    /// <summary>Validation loss must rise this much (relative) above its minimum for overfitting. Default 0.10.</summary>
    public double OverfitRise { get; init; } = 0.10;
    /// <summary>Points after the validation minimum needed before calling overfitting. Default 2.</summary>
    public int OverfitPointsAfter { get; init; } = 2;
    /// <summary>Training loss may rise at most this much (relative) after the onset and still count as "falling". Default 0.02.</summary>
    public double TrainStillFalling { get; init; } = 0.02;
    /// <summary>Divergence: final training loss at least this multiple of its lowest level. Default 3.</summary>
    public double DivergeFactor { get; init; } = 3;
    /// <summary>Plateau: relative fall of the training loss over the run below this. Default 0.02.</summary>
    public double PlateauFall { get; init; } = 0.02;
    /// <summary>Oscillation: fraction of direction changes in the last third. Default 0.6.</summary>
    public double OscillationFlips { get; init; } = 0.6;
    /// <summary>Oscillation: median swing relative to the median level. Default 0.2.</summary>
    public double OscillationSwing { get; init; } = 0.2;
    /// <summary>Long noisy curves are averaged into this many bins before the rules run. Default 50.</summary>
    public int Bins { get; init; } = 50;
}

/// <summary>
/// Rules over learning curves read from logs: overfitting onset, divergence, plateau, oscillation. Pure: the same curves
/// give the same findings. Step-level curves longer than <see cref="LogCurveThresholds.Bins"/> points are averaged into that
/// many bins first, so batch noise does not read as oscillation; a divergence suppresses the plateau and oscillation
/// rules (one cause, one finding).
/// </summary>
public static class LogCurveDetector
{
    private static string F(double v) => v.ToString("G4", CultureInfo.InvariantCulture);

    /// <summary>Runs every rule over <paramref name="c"/>.</summary>
    public static IReadOnlyList<Finding> Detect(CurveSet c, LogCurveThresholds? t = null)
    {
        ArgumentNullException.ThrowIfNull(c);
        t ??= new LogCurveThresholds();
        var found = new List<Finding>();
        var diverged = Divergence(c, t);
        if (diverged is not null) found.Add(diverged);
        if (Overfitting(c, t) is { } o) found.Add(o);
        if (diverged is null)
        {
            if (Plateau(c, t) is { } p) found.Add(p);
            else if (Oscillation(c, t) is { } osc) found.Add(osc);
        }
        return found;
    }

    /// <summary>Averages a long series into at most <paramref name="bins"/> contiguous bins (each keeps its last step).</summary>
    public static List<ScalarPoint> Bin(IReadOnlyList<ScalarPoint> s, int bins)
    {
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

    private static List<ScalarPoint> Median3(List<ScalarPoint> s)
    {
        if (s.Count < 5) return s;
        var r = new List<ScalarPoint>(s.Count) { s[0] };
        for (int i = 1; i < s.Count - 1; i++)
        {
            double a = s[i - 1].Value, b = s[i].Value, d = s[i + 1].Value;
            r.Add(s[i] with { Value = Math.Max(Math.Min(a, b), Math.Min(Math.Max(a, b), d)) });
        }
        r.Add(s[^1]);
        return r;
    }

    /// <summary>Overfitting onset: the step of the validation-loss minimum, when validation loss then rose while training loss did not.</summary>
    public static Finding? Overfitting(CurveSet c, LogCurveThresholds t)
    {
        if (c.ValLoss.Count < 4 || c.TrainLoss.Count < 2 || c.ValLoss.Any(p => !double.IsFinite(p.Value))) return null;
        var v = Median3(Bin(c.ValLoss, t.Bins));
        int m = 0;
        for (int i = 1; i < v.Count; i++) if (v[i].Value < v[m].Value) m = i;
        if (v.Count - 1 - m < t.OverfitPointsAfter || v[m].Value <= 0) return null;
        double best = v[m].Value, last = v[^1].Value, rise = (last - best) / best;
        if (rise < t.OverfitRise) return null;
        long onset = v[m].Step;
        var train = Bin(c.TrainLoss, t.Bins);
        double trainAtOnset = ValueAt(train, onset), trainLast = train[^1].Value;
        if (!double.IsFinite(trainAtOnset) || !double.IsFinite(trainLast) || trainLast > trainAtOnset * (1 + t.TrainStillFalling)) return null;
        return Finding.Create(LogCodes.OverfittingOnset, null,
            $"{c.Run}: overfitting from step {onset}: validation loss ({c.ValLossTag}) was lowest there ({F(best)}) and rose {rise:P0} to {F(last)} by step {v[^1].Step}, while training loss ({c.TrainLossTag}) went from {F(trainAtOnset)} to {F(trainLast)}.",
            $"Keep the weights of step {onset} (early stopping: save a checkpoint when validation loss improves, stop after a few evaluations without improvement); " +
            "then regularise: weight decay (e.g. optim.AdamW(model.parameters(), lr, weight_decay: 0.01)), dropout, data augmentation, or more data.",
            new Dictionary<string, string>
            {
                ["onset step"] = onset.ToString(CultureInfo.InvariantCulture),
                ["best val loss"] = F(best),
                ["last val loss"] = F(last),
                ["rise"] = rise.ToString("P1", CultureInfo.InvariantCulture),
                ["train loss at onset"] = F(trainAtOnset),
                ["train loss last"] = F(trainLast),
            }, onset);
    }

    private static double ValueAt(List<ScalarPoint> s, long step)
    {
        for (int i = 0; i < s.Count; i++) if (s[i].Step >= step) return s[i].Value;
        return s.Count > 0 ? s[^1].Value : double.NaN;
    }

    /// <summary>Divergence: non-finite training loss, or a final level several times the lowest and above the start.</summary>
    public static Finding? Divergence(CurveSet c, LogCurveThresholds t)
    {
        var s = c.TrainLoss;
        if (s.Count == 0) return null;
        if (s.Any(p => !double.IsFinite(p.Value)))
        {
            var first = s.First(p => !double.IsFinite(p.Value));
            var lastFinite = s.TakeWhile(p => double.IsFinite(p.Value)).Select(p => p.Value).DefaultIfEmpty(double.NaN).Last();
            return Finding.Create(LogCodes.LossDiverged, null,
                $"{c.Run}: training loss ({c.TrainLossTag}) became {F(first.Value)} at step {first.Step} (last finite value {F(lastFinite)}).",
                "Lower the learning rate (try 10× smaller), clip gradients (torch.nn.utils.clip_grad_norm_(model.parameters(), 1.0)), and check the loss input for log(0) or division by zero; " +
                "run with TorchDoctor attached (Doctor.Attach) to name the layer where NaN/Inf starts.",
                new Dictionary<string, string> { ["step"] = first.Step.ToString(CultureInfo.InvariantCulture), ["value"] = F(first.Value), ["last finite loss"] = F(lastFinite) }, first.Step);
        }
        var b = Bin(s, t.Bins);
        if (b.Count < 6) return null;
        int m = 0;
        for (int i = 1; i < b.Count; i++) if (b[i].Value < b[m].Value) m = i;
        double low = b[m].Value, end = (b[^1].Value + b[^2].Value) / 2, start = b[0].Value;
        if (low <= 0 || end < t.DivergeFactor * low || end <= start) return null;
        var from = b.Skip(m).First(p => p.Value >= t.DivergeFactor * low);
        return Finding.Create(LogCodes.LossDiverged, null,
            $"{c.Run}: training loss ({c.TrainLossTag}) diverged: lowest {F(low)} at step {b[m].Step}, {t.DivergeFactor:G3}× that by step {from.Step}, ending at {F(end)} (it started at {F(start)}).",
            "Lower the learning rate (or add warm-up and a decay schedule), and clip gradients (torch.nn.utils.clip_grad_norm_(model.parameters(), 1.0)).",
            new Dictionary<string, string>
            {
                ["lowest"] = F(low), ["lowest at step"] = b[m].Step.ToString(CultureInfo.InvariantCulture),
                ["diverged by step"] = from.Step.ToString(CultureInfo.InvariantCulture), ["end"] = F(end), ["start"] = F(start),
            }, from.Step);
    }

    /// <summary>Plateau: the training loss fell by less than <see cref="LogCurveThresholds.PlateauFall"/> of its start over the run.</summary>
    public static Finding? Plateau(CurveSet c, LogCurveThresholds t)
    {
        if (c.TrainLoss.Count < 20) return null;
        var b = Bin(c.TrainLoss, t.Bins);
        int k = Math.Max(1, b.Count / 10);
        double start = b.Take(k).Average(p => p.Value), end = b.Skip(b.Count - k).Average(p => p.Value);
        if (!double.IsFinite(start) || Math.Abs(start) < 1e-6) return null;
        double fall = (start - end) / Math.Abs(start);
        if (fall >= t.PlateauFall) return null;
        return Finding.Create(LogCodes.LossPlateau, null,
            $"{c.Run}: training loss ({c.TrainLossTag}) fell only {fall:P1} over {c.TrainLoss.Count} points (from {F(start)} to {F(end)}): the model is not learning.",
            "Check that the optimizer holds the model's parameters and that optimizer.step() runs; try a higher learning rate (an LR range test); check that labels match inputs (shuffled together) and that the data is normalised.",
            new Dictionary<string, string> { ["start"] = F(start), ["end"] = F(end), ["fall"] = fall.ToString("P2", CultureInfo.InvariantCulture), ["points"] = c.TrainLoss.Count.ToString(CultureInfo.InvariantCulture) },
            c.TrainLoss[0].Step);
    }

    /// <summary>Oscillation: in the last third, the binned training loss keeps changing direction with large swings.</summary>
    public static Finding? Oscillation(CurveSet c, LogCurveThresholds t)
    {
        var b = Bin(c.TrainLoss, t.Bins);
        if (b.Count < 15) return null;
        var tail = b.Skip(b.Count * 2 / 3).ToList();
        var d = tail.Zip(tail.Skip(1), (x, y) => y.Value - x.Value).ToList();
        int flips = 0;
        for (int i = 1; i < d.Count; i++) if (Math.Sign(d[i]) != Math.Sign(d[i - 1]) && d[i] != 0) flips++;
        double flipFraction = (double)flips / Math.Max(1, d.Count - 1);
        double swing = Median(d.Select(Math.Abs)), level = Median(tail.Select(p => Math.Abs(p.Value)));
        if (level <= 0 || flipFraction < t.OscillationFlips || swing / level < t.OscillationSwing) return null;
        return Finding.Create(LogCodes.LossOscillation, null,
            $"{c.Run}: training loss ({c.TrainLossTag}) oscillates in the last third of the run: it changes direction at {flipFraction:P0} of points with a median swing of {swing / level:P0} of its level ({F(level)}).",
            "Lower the learning rate (2-10×) or add a decay schedule (e.g. optim.lr_scheduler.CosineAnnealingLR); a larger batch also smooths the steps.",
            new Dictionary<string, string>
            {
                ["direction changes"] = flipFraction.ToString("P0", CultureInfo.InvariantCulture),
                ["median swing"] = F(swing), ["level"] = F(level), ["from step"] = tail[0].Step.ToString(CultureInfo.InvariantCulture),
            }, tail[0].Step);
    }

    private static double Median(IEnumerable<double> xs)
    {
        var s = xs.Order().ToList();
        return s.Count == 0 ? double.NaN : s.Count % 2 == 1 ? s[s.Count / 2] : (s[s.Count / 2 - 1] + s[s.Count / 2]) / 2;
    }
}
