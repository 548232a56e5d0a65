using TorchDoctor.Observations;
using TorchDoctor.Detectors;
using TorchDoctor.Findings;

namespace TorchDoctor.Logs;

/// <summary>One run of an analysis: what was read, the curves found, the findings and notes (missing tags, damage).</summary>
/// <param name="Log">The scalars read.</param>
/// <param name="Curves">The learning curves found among the tags.</param>
/// <param name="Findings">Curve findings, then log-damage findings.</param>
/// <param name="Notes">One-line notes: missing tags, truncated files.</param>
public sealed record RunAnalysis(ScalarLog Log, CurveSet Curves, IReadOnlyList<Finding> Findings, IReadOnlyList<string> Notes)
{
    /// <summary>The overfitting onset step, when found.</summary>
    public long? OverfittingOnset => Findings.FirstOrDefault(f => f.Code == ConvergenceCodes.Overfitting.Code)?.Step;
}

/// <summary>
/// <c>torchdoctor analyze</c> as a library call: reads TensorBoard logs or run logs, finds each run's train/validation
/// curves by common tag names, and runs the curve rules (<see cref="LogCurveDetector"/>) over them.
/// </summary>
public static class LogAnalysis
{
    /// <summary>Analyses every run under each of <paramref name="paths"/>.</summary>
    /// <exception cref="LogNotFoundException">A path holds no log.</exception>
    public static IReadOnlyList<RunAnalysis> Analyze(IReadOnlyList<string> paths, string? trainTag = null, string? valTag = null,
        CurveThresholds? thresholds = null, IProgress<(int Done, int Total)>? progress = null)
    {
        ArgumentNullException.ThrowIfNull(paths);
        var result = new List<RunAnalysis>();
        foreach (var path in paths)
        {
            // With several log paths, runs are prefixed by their path's name so rows stay distinguishable.
            var prefix = System.IO.Path.GetFileName(System.IO.Path.GetFullPath(path).TrimEnd(System.IO.Path.DirectorySeparatorChar));
            foreach (var log in LogDirectory.Read(path, progress))
            {
                var name = paths.Count > 1 && log.Name != prefix ? prefix + "/" + log.Name : log.Name;
                result.Add(Analyze(log, trainTag, valTag, thresholds, name));
            }
        }
        return result;
    }

    /// <summary>Analyses one run already read.</summary>
    public static RunAnalysis Analyze(ScalarLog log, string? trainTag = null, string? valTag = null, CurveThresholds? thresholds = null, string? displayName = null)
    {
        ArgumentNullException.ThrowIfNull(log);
        var curves = CurveSets.Find(log, trainTag, valTag) with { Run = displayName ?? log.Name };
        var notes = new List<string>();
        string TagList() => log.Scalars.Count == 0 ? "no scalar tags at all" :
            $"{log.Scalars.Count} tags: {string.Join(", ", log.Tags.Take(8))}{(log.Scalars.Count > 8 ? ", …" : "")}";
        if (trainTag is not null && !log.Scalars.ContainsKey(trainTag))
            notes.Add($"{curves.Run}: --train-tag '{trainTag}' is not in this run ({TagList()})");
        else if (curves.TrainLossTag is null)
            notes.Add($"{curves.Run}: no training-loss tag found ({TagList()}); name it with --train-tag");
        if (valTag is not null && !log.Scalars.ContainsKey(valTag))
            notes.Add($"{curves.Run}: --val-tag '{valTag}' is not in this run ({TagList()})");
        else if (curves.ValLossTag is null && curves.TrainLossTag is not null)
            notes.Add($"{curves.Run}: no validation-loss tag found, so overfitting cannot be judged; name it with --val-tag");
        foreach (var p in log.Problems.Where(p => p.IsTruncation))
            notes.Add($"{curves.Run}: {p}");
        if (log.RunLog is { Completed: false } rl && log.RunLog.Header.Count > 0)
            notes.Add($"{curves.Run}: the run log has no end record: the run was stopped or is still running (last step {rl.LastStep})");
        var lr = log.Scalars.ContainsKey(RunTags.LearningRate) ? log.Series(RunTags.LearningRate) : null;
        var findings = new List<Finding>(LogCurveDetector.Detect(curves, thresholds, lr));
        var damage = log.Problems.Where(p => !p.IsTruncation).ToList();
        if (damage.Count > 0)
            findings.Add(Finding.Create(LogCodes.LogDamaged, null,
                $"{curves.Run}: {damage.Count} problem(s) reading the log; {log.Records} records were read and analysed. First: {damage[0]}",
                "Nothing to fix for the analysis; if a file is corrupted, re-run or copy it again from where it was written.",
                new Dictionary<string, string> { ["problems"] = damage.Count.ToString(System.Globalization.CultureInfo.InvariantCulture), ["first"] = damage[0].ToString(), ["records read"] = log.Records.ToString(System.Globalization.CultureInfo.InvariantCulture) }));
        return new RunAnalysis(log, curves, findings, notes);
    }
}
