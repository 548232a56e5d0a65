using TorchDoctor.Observations;

namespace TorchDoctor.Logs;

/// <summary>Finds a run's learning curves (<see cref="CurveSet"/>) among the scalar tags of its log.</summary>
public static class CurveSets
{
    /// <summary>
    /// Finds the curves of <paramref name="log"/> by common tag names (or the given tags): a loss tag has a word
    /// <c>loss</c>; validation is marked by <c>val</c>, <c>valid</c>, <c>validation</c>, <c>eval</c>, <c>test</c> or
    /// <c>dev</c>; training by <c>train</c>/<c>training</c> or no split word at all; accuracy by <c>acc</c>,
    /// <c>accuracy</c> or <c>top1</c>. Among several matches the shortest tag wins (<c>train/loss</c> over
    /// <c>train/loss_scaled</c>); epoch-level tags win over step-level ones for validation.
    /// </summary>
    public static CurveSet Find(ScalarLog log, string? trainTag = null, string? valTag = null)
    {
        ArgumentNullException.ThrowIfNull(log);
        var tags = log.Scalars.Keys.ToList();
        string? Pick(Func<HashSet<string>, bool> pred) => tags
            .Select(t => (Tag: t, Words: Words(t)))
            .Where(x => pred(x.Words))
            .OrderBy(x => x.Words.Count).ThenBy(x => x.Tag.Length).ThenBy(x => x.Tag, StringComparer.Ordinal)
            .Select(x => x.Tag).FirstOrDefault();
        static bool IsVal(HashSet<string> w) => w.Overlaps(ValWords);
        static bool IsTrain(HashSet<string> w) => w.Overlaps(TrainWords) || !IsVal(w);
        static bool IsLoss(HashSet<string> w) => w.Contains("loss") && !w.Overlaps(NotCurveWords);
        static bool IsAcc(HashSet<string> w) => w.Overlaps(AccWords) && !w.Overlaps(NotCurveWords);
        var trainLoss = trainTag ?? Pick(w => IsLoss(w) && IsTrain(w));
        var valLoss = valTag ?? Pick(w => IsLoss(w) && IsVal(w));
        var trainAcc = Pick(w => IsAcc(w) && IsTrain(w));
        var valAcc = Pick(w => IsAcc(w) && IsVal(w));
        return new CurveSet
        {
            Run = log.Name,
            TrainLossTag = trainLoss is not null && log.Scalars.ContainsKey(trainLoss) ? trainLoss : null,
            ValLossTag = valLoss is not null && log.Scalars.ContainsKey(valLoss) ? valLoss : null,
            TrainAccuracyTag = trainAcc,
            ValAccuracyTag = valAcc,
            TrainLoss = trainLoss is null ? [] : log.Series(trainLoss),
            ValLoss = valLoss is null ? [] : log.Series(valLoss),
            TrainAccuracy = trainAcc is null ? [] : log.Series(trainAcc),
            ValAccuracy = valAcc is null ? [] : log.Series(valAcc),
        };
    }

    private static readonly HashSet<string> ValWords = ["val", "valid", "validation", "eval", "evaluation", "test", "dev", "holdout"];
    private static readonly HashSet<string> TrainWords = ["train", "training"];
    private static readonly HashSet<string> AccWords = ["acc", "accuracy", "top1", "top_1"];
    // Tags that mention loss/accuracy but are not the curve (gradient norms of the loss, loss scale, ...).
    private static readonly HashSet<string> NotCurveWords = ["grad", "norm", "scale", "scaler", "lr", "weight", "std", "histogram"];

    private static HashSet<string> Words(string tag)
    {
        var words = new HashSet<string>(StringComparer.Ordinal);
        foreach (var w in tag.ToLowerInvariant().Split(['/', '_', '.', '-', ' ', ':'], StringSplitOptions.RemoveEmptyEntries))
        {
            words.Add(w);
            // valloss, trainloss, val_acc → also split glued forms
            foreach (var prefix in (string[])["train", "val", "test", "eval"])
                if (w.Length > prefix.Length && w.StartsWith(prefix, StringComparison.Ordinal)) { words.Add(prefix); words.Add(w[prefix.Length..]); }
        }
        return words;
    }
}
