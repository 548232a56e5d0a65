using TorchDoctor.Findings;
using TorchDoctor.Observations;
using static TorchDoctor.Detectors.TrainingDetectors;

namespace TorchDoctor.Detectors;

/// <summary>
/// Pure rules over one loss call: probabilities into a loss that expects logits (named at the softmax/sigmoid module),
/// a target that broadcasts against the output, and a label dtype wrong for the loss.
/// </summary>
public static class LossCallDetector
{
    private static readonly HashSet<string> Squashers = ["Softmax", "Sigmoid", "Softmax2d", "Softmin"];
    private static readonly HashSet<string> IntegerDtypes = ["Int64", "Int32", "Int16", "Int8", "Byte", "Bool"];

    private static string Shape(long[] s) => "[" + string.Join(", ", s) + "]";

    /// <summary>The lowest loss reachable when probabilities are fed to a logit loss: ln(e + C − 1) − 1 for cross-entropy over C classes (≈ 1.46 for 10).</summary>
    public static double CrossEntropyFloor(long classes) => Math.Log(Math.E + classes - 1) - 1;

    /// <summary>Every finding the loss call supports.</summary>
    public static IEnumerable<Finding> Detect(LossCallObservation o)
    {
        ArgumentNullException.ThrowIfNull(o);
        if (Probabilities(o) is { } p) yield return p;
        if (NllInput(o) is { } nll) yield return nll;
        if (Broadcast(o) is { } b) yield return b;
        if (Dtype(o) is { } d) yield return d;
    }

    /// <summary>Softmax/sigmoid output into cross_entropy / binary_cross_entropy_with_logits.</summary>
    public static Finding? Probabilities(LossCallObservation o)
    {
        if (!o.Kind.ExpectsLogits()) return null;
        bool byModule = o.ProducerType is { } pt && Squashers.Contains(pt) &&
                        (o.Kind == LossKind.CrossEntropy ? pt is "Softmax" or "Softmax2d" : pt == "Sigmoid");
        bool inUnit = o.Min >= 0 && o.Max <= 1;
        bool byValues = o.Kind == LossKind.CrossEntropy
            ? inUnit && o.OutputShape.Length >= 2 && o.OutputShape[1] > 1 && o.MaxRowSumError < 1e-4
            : inUnit && o.OutputShape.Aggregate(1L, (a, b) => a * b) >= 16 && o.Min > 0 && o.Max < 1;
        if (!byModule && !byValues) return null;
        string fn = o.Kind.FunctionName();
        string squash = o.Kind == LossKind.CrossEntropy ? "softmax" : "sigmoid";
        string where = byModule ? $"{o.Producer} ({o.ProducerType})" : $"the model's output (values in [{F(o.Min)}, {F(o.Max)}]{(o.Kind == LossKind.CrossEntropy ? ", rows sum to 1" : "")})";
        var ev = new Dictionary<string, string>
        {
            ["loss"] = fn, ["input produced by"] = byModule ? o.Producer! : "(no module: functional call)", ["min"] = F(o.Min), ["max"] = F(o.Max),
        };
        string floor;
        if (o.Kind == LossKind.CrossEntropy && o.OutputShape.Length >= 2)
        {
            double fl = CrossEntropyFloor(o.OutputShape[1]);
            ev["loss floor"] = F(fl);
            floor = $"even a perfect prediction cannot push the loss below ln(e + {o.OutputShape[1] - 1}) − 1 = {F(fl)}, and gradients are squashed";
        }
        else
        {
            double pos = Math.Log(1 + Math.Exp(-1)), neg = Math.Log(2);
            ev["loss floor (target 1 / target 0)"] = $"{F(pos)} / {F(neg)}";
            floor = $"a perfect prediction still costs {F(pos)} per positive and {F(neg)} per negative target";
        }
        return Finding.Create(ConvergenceCodes.ProbabilitiesIntoLogitLoss, byModule ? o.Producer : null,
            $"{fn} applies log-{squash} itself, but it receives probabilities from {where}: {floor}.",
            byModule
                ? $"Remove the {o.ProducerType} module `{o.Producer}` from the model and feed raw logits to {fn}; apply `{(o.Kind == LossKind.CrossEntropy ? "softmax(logits, 1)" : "torch.sigmoid(logits)")}` only to read predictions. " +
                  $"(Or keep it and use `{(o.Kind == LossKind.CrossEntropy ? "nll_loss(log(probabilities))" : "binary_cross_entropy(probabilities, target)")}`, which is less stable.)"
                : $"Return raw logits from forward (drop the {squash} call) and apply it only to read predictions.",
            ev, o.Step);
    }

    /// <summary>
    /// nll_loss on values above 0: log-probabilities are never positive, so its input is raw scores (no log_softmax) or
    /// probabilities (softmax without the log). nll_loss then returns −(the target's score), which training pushes down
    /// without bound: the loss goes negative and the weights and gradients grow with it.
    /// </summary>
    public static Finding? NllInput(LossCallObservation o)
    {
        if (o.Kind != LossKind.NllLoss || !(o.Max > 1e-6)) return null;
        bool probabilities = o.ProducerType is "Softmax" or "Softmax2d" || (o.Min >= 0 && o.Max <= 1 && o.MaxRowSumError < 1e-4);
        string what = probabilities ? "probabilities (a softmax without the log)" : "raw scores (logits: no log_softmax)";
        string where = o.Producer is { } p ? $"{p} ({o.ProducerType})" : "the model's output";
        return Finding.Create(ConvergenceCodes.NllLossWithoutLogSoftmax, o.Producer,
            $"nll_loss expects log-probabilities (every value ≤ 0), but the values from {where} reach {F(o.Max)}: {what}. " +
            "nll_loss then returns minus the target's score, which training pushes down without bound: the loss goes negative and the weights and gradients grow with it.",
            probabilities
                ? "Use `functional.log_softmax(x, 1)` instead of softmax before nll_loss, or drop the softmax and use `functional.cross_entropy(logits, target)`."
                : "Apply `functional.log_softmax(logits, 1)` before nll_loss, or use `functional.cross_entropy(logits, target)`, which does both.",
            new Dictionary<string, string> { ["loss"] = "nll_loss", ["max input"] = F(o.Max), ["min input"] = F(o.Min), ["input produced by"] = o.Producer ?? "(no module: functional call)" },
            o.Step);
    }

    /// <summary>An element-wise loss whose target broadcasts against the output.</summary>
    public static Finding? Broadcast(LossCallObservation o)
    {
        if (o.Kind is LossKind.CrossEntropy or LossKind.NllLoss) return null;
        var a = o.OutputShape;
        var b = o.TargetShape;
        if (a.SequenceEqual(b)) return null;
        var result = BroadcastShape(a, b);
        if (result is null) return null;   // libtorch throws: the shape explainer's business
        long outN = a.Aggregate(1L, (x, y) => x * y), resN = result.Aggregate(1L, (x, y) => x * y);
        string fix = a.Length == b.Length + 1 && a[^1] == 1 && a.Take(b.Length).SequenceEqual(b) ? "target.unsqueeze(-1)"
                   : b.Length == a.Length + 1 && b[^1] == 1 && b.Take(a.Length).SequenceEqual(a) ? "target.squeeze(-1)"
                   : outN == b.Aggregate(1L, (x, y) => x * y) ? "target.view_as(output)"
                   : $"a target of shape {Shape(a)}";
        if (fix == "target.unsqueeze(-1)" && a.Length == 2) fix = "target.unsqueeze(1)";
        if (fix == "target.squeeze(-1)" && b.Length == 2) fix = "target.squeeze(1)";
        return Finding.Create(ConvergenceCodes.TargetBroadcast, null,
            $"{o.Kind.FunctionName()} of output {Shape(a)} and target {Shape(b)} broadcasts to {Shape(result)}: it compares {resN:N0} pairs instead of {outN:N0} (libtorch only warns on stderr), so the model learns the mean target.",
            $"Make the shapes equal: `{o.Kind.FunctionName()}(output, {fix})`.",
            new Dictionary<string, string> { ["output shape"] = Shape(a), ["target shape"] = Shape(b), ["broadcast shape"] = Shape(result), ["fix"] = fix }, o.Step);
    }

    /// <summary>A target dtype the loss does not take.</summary>
    public static Finding? Dtype(LossCallObservation o)
    {
        bool intTarget = IntegerDtypes.Contains(o.TargetDtype);
        string? want = null;
        if (o.Kind is LossKind.CrossEntropy or LossKind.NllLoss)
        {
            bool indices = o.TargetShape.Length == o.OutputShape.Length - 1;
            if (indices && o.TargetDtype != "Int64") want = "Int64";
            if (!indices && intTarget) want = "Int64 class indices of shape " + Shape([.. o.OutputShape.Where((_, i) => i != 1)]);
        }
        else if (intTarget) want = o.OutputDtype;
        if (want is null) return null;
        string fix = want.StartsWith("Int64 class", StringComparison.Ordinal) ? "target.argmax(1)" : $"target.to(ScalarType.{want})";
        return Finding.Create(ConvergenceCodes.LabelDtype, null,
            $"{o.Kind.FunctionName()} got a {o.TargetDtype} target of shape {Shape(o.TargetShape)}; it needs {want}.",
            $"Convert the target: `{o.Kind.FunctionName()}(output, {fix})` (better: produce it in that dtype in the dataset).",
            new Dictionary<string, string> { ["target dtype"] = o.TargetDtype, ["expected"] = want, ["target shape"] = Shape(o.TargetShape), ["output shape"] = Shape(o.OutputShape) }, o.Step);
    }

    private static long[]? BroadcastShape(long[] a, long[] b)
    {
        int n = Math.Max(a.Length, b.Length);
        var r = new long[n];
        for (int i = 0; i < n; i++)
        {
            long x = i < n - a.Length ? 1 : a[i - (n - a.Length)], y = i < n - b.Length ? 1 : b[i - (n - b.Length)];
            if (x != y && x != 1 && y != 1) return null;
            r[i] = Math.Max(x, y);
        }
        return r;
    }
}
