using TorchDoctor.Observations;
using TorchDoctor.Findings;
using TorchDoctor.Logs;

namespace TorchDoctor.Reporting;

/// <summary>What an HTML report shows: findings first, then runs (charts), tables and sample grids.</summary>
public sealed class ReportModel
{
    /// <summary>Page title.</summary>
    public string Title { get; init; } = "TorchDoctor report";
    /// <summary>One line under the title (the command, the inputs).</summary>
    public string? Subtitle { get; init; }
    /// <summary>Findings, shown first (most severe first).</summary>
    public List<Finding> Findings { get; } = [];
    /// <summary>Runs with their curves and per-layer series.</summary>
    public List<ReportRun> Runs { get; } = [];
    /// <summary>Tables (model summary, demo metrics, data check...).</summary>
    public List<ReportTable> Tables { get; } = [];
    /// <summary>Sample grids of image data, as the model receives them (de-normalised for display).</summary>
    public List<SampleGrid> SampleGrids { get; } = [];
    /// <summary>Profiler breakdowns (per-module self time, step phases).</summary>
    public List<ReportProfile> Profiles { get; } = [];
    /// <summary>Notes (missing tags, truncated logs, capabilities not available).</summary>
    public List<string> Notes { get; } = [];
}

/// <summary>A table: a title, headers and rows of text.</summary>
/// <param name="Title">Section title.</param>
/// <param name="Headers">Column headers.</param>
/// <param name="Rows">Rows (same length as headers).</param>
public sealed record ReportTable(string Title, IReadOnlyList<string> Headers, IReadOnlyList<IReadOnlyList<string>> Rows);

/// <summary>Images of one data set, per class, with pixel values in [0, 1] after de-normalisation.</summary>
/// <param name="Title">Section title.</param>
/// <param name="Channels">1 (grey) or 3 (RGB).</param>
/// <param name="Height">Image height.</param>
/// <param name="Width">Image width.</param>
/// <param name="Items">Label and pixels (channels × height × width, values in [0, 1]).</param>
public sealed record SampleGrid(string Title, int Channels, int Height, int Width, IReadOnlyList<(string Label, float[] Pixels)> Items);

/// <summary>A profiler breakdown for the charts: per-module self time (forward and backward) and the step's phases.</summary>
/// <param name="Title">Section title (model, input, steps).</param>
/// <param name="Modules">Modules by self time, most expensive first: name, forward self ms and backward self ms per step.</param>
/// <param name="Phases">Step phases: name and ms per step (forward, loss, backward, optimizer step, other).</param>
/// <param name="StepMs">Mean step time in ms.</param>
public sealed record ReportProfile(string Title, IReadOnlyList<(string Module, double ForwardSelfMs, double BackwardSelfMs)> Modules,
    IReadOnlyList<(string Phase, double Ms)> Phases, double StepMs)
{
    /// <summary>Modules kept in the chart (the rest are summed into one "other modules" bar).</summary>
    public const int MaxModules = 20;

    /// <summary>The chart data of a profiler result.</summary>
    public static ReportProfile From(Profiling.ProfileReport report, string title)
    {
        ArgumentNullException.ThrowIfNull(report);
        var rows = report.Sorted("self").ToList();
        var modules = rows.Take(MaxModules).Select(r => (r.Module, r.ForwardSelfMs, r.BackwardSelfMs)).ToList();
        if (rows.Count > MaxModules)
            modules.Add(($"other modules ({rows.Count - MaxModules})", rows.Skip(MaxModules).Sum(r => r.ForwardSelfMs), rows.Skip(MaxModules).Sum(r => r.BackwardSelfMs)));
        // Phases partition the step (regions may overlap them): the phases, then the time outside every phase.
        var phases = report.Phases.Where(p => p.Category == "phase").Select(p => (p.Name, p.Ms)).ToList();
        if (phases.Count > 0 && report.OtherMs > 0) phases.Add(("outside phases", report.OtherMs));
        return new ReportProfile(title, modules, phases, report.StepMs);
    }
}

/// <summary>One run's series for the charts.</summary>
public sealed class ReportRun
{
    /// <summary>Run name.</summary>
    public required string Name { get; init; }
    /// <summary>Named curves for the loss chart (e.g. "train/loss" → points).</summary>
    public Dictionary<string, IReadOnlyList<ScalarPoint>> Loss { get; } = [];
    /// <summary>Named curves for the accuracy chart.</summary>
    public Dictionary<string, IReadOnlyList<ScalarPoint>> Accuracy { get; } = [];
    /// <summary>Learning rate.</summary>
    public IReadOnlyList<ScalarPoint> LearningRate { get; set; } = [];
    /// <summary>Per-module gradient norms (module → points), in module order.</summary>
    public List<(string Module, IReadOnlyList<ScalarPoint> Points)> GradNorms { get; } = [];
    /// <summary>Per-module dead-unit fractions.</summary>
    public List<(string Module, IReadOnlyList<ScalarPoint> Points)> DeadFractions { get; } = [];
    /// <summary>Process memory (MiB) over steps.</summary>
    public IReadOnlyList<ScalarPoint> MemoryMb { get; set; } = [];
    /// <summary>Live TorchSharp tensors at the end of each step (the leak watch's timeline).</summary>
    public IReadOnlyList<ScalarPoint> LiveTensors { get; set; } = [];
    /// <summary>Overfitting onset step to mark on the loss chart.</summary>
    public long? OverfittingOnset { get; set; }

    /// <summary>The charts' data from an analysed run.</summary>
    public static ReportRun From(RunAnalysis analysis)
    {
        ArgumentNullException.ThrowIfNull(analysis);
        var r = From(analysis.Log, analysis.Curves);
        r.OverfittingOnset = analysis.OverfittingOnset;
        return r;
    }

    /// <summary>The charts' data from a log (curves found by common tag names when not given).</summary>
    public static ReportRun From(ScalarLog log, CurveSet? curves = null)
    {
        ArgumentNullException.ThrowIfNull(log);
        curves ??= CurveSets.Find(log);
        var r = new ReportRun { Name = curves.Run };
        if (curves.TrainLossTag is { } tl) r.Loss[tl] = curves.TrainLoss;
        if (curves.ValLossTag is { } vl) r.Loss[vl] = curves.ValLoss;
        if (curves.TrainAccuracyTag is { } ta) r.Accuracy[ta] = curves.TrainAccuracy;
        if (curves.ValAccuracyTag is { } va) r.Accuracy[va] = curves.ValAccuracy;
        var lrTag = log.Scalars.Keys.FirstOrDefault(t => t == RunTags.LearningRate) ??
                    log.Scalars.Keys.FirstOrDefault(t => t.Split('/', '_').Any(w => w.Equals("lr", StringComparison.OrdinalIgnoreCase) || w.Equals("learning", StringComparison.OrdinalIgnoreCase)));
        if (lrTag is not null) r.LearningRate = log.Series(lrTag);
        foreach (var tag in log.Scalars.Keys.Where(t => t.StartsWith(RunTags.GradNormPrefix, StringComparison.Ordinal) && t != RunTags.GlobalGradNorm))
            r.GradNorms.Add((tag[RunTags.GradNormPrefix.Length..], log.Series(tag)));
        foreach (var tag in log.Scalars.Keys.Where(t => t.StartsWith(RunTags.DeadFractionPrefix, StringComparison.Ordinal)))
            r.DeadFractions.Add((tag[RunTags.DeadFractionPrefix.Length..], log.Series(tag)));
        r.MemoryMb = log.Series(RunTags.MemoryMb);
        r.LiveTensors = log.Series(RunTags.LiveTensors);
        return r;
    }
}
