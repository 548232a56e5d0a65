using TorchDoctor.Findings;
using TorchDoctor.Logs;
using TorchDoctor.Observations;
using TorchDoctor.Training;

namespace TorchDoctor.Reporting;

/// <summary>
/// Writes the HTML report of a run when the run ends (the doctor is disposed): the run's findings first, then its charts
/// (loss and validation curves with the overfitting onset marked, learning rate, per-layer gradient norms, dead-unit
/// fractions, the memory timeline). It keeps the same series the run log holds, bounded: each series keeps at most
/// <see cref="MaxPointsPerSeries"/> points, merging neighbouring pairs (their mean) when full, so memory does not grow
/// with the number of steps.
/// </summary>
public sealed class HtmlReportSink : IRunSink
{
    /// <summary>Points kept per series before neighbouring pairs are merged.</summary>
    public const int MaxPointsPerSeries = 4096;

    private readonly Dictionary<string, List<ScalarPoint>> _series = [];
    private readonly List<Finding> _findings = [];
    private string _name = "run";
    private string? _model;
    private bool _written;

    /// <summary>Writes the report to <paramref name="path"/> when the run ends.</summary>
    public HtmlReportSink(string path)
    {
        ArgumentException.ThrowIfNullOrWhiteSpace(path);
        Path = System.IO.Path.GetFullPath(path);
    }

    /// <summary>The report file.</summary>
    public string Path { get; }

    private void Add(string tag, long step, double value)
    {
        if (!_series.TryGetValue(tag, out var list)) _series[tag] = list = [];
        list.Add(new ScalarPoint(step, value, 0));
        if (list.Count < MaxPointsPerSeries) return;
        // Full: merge neighbours (mean value, first step of the pair), halving the series.
        for (int i = 0; i < list.Count / 2; i++)
            list[i] = new ScalarPoint(list[2 * i].Step, (list[2 * i].Value + list[2 * i + 1].Value) / 2, 0);
        list.RemoveRange(list.Count / 2, list.Count - list.Count / 2);
    }

    /// <inheritdoc />
    public void OnStart(RunStart start)
    {
        ArgumentNullException.ThrowIfNull(start);
        _name = start.Name;
        _model = start.Model;
    }

    /// <inheritdoc />
    public void OnStep(StepSample step)
    {
        ArgumentNullException.ThrowIfNull(step);
        var o = step.Observations;
        if (o.Loss is { } loss) Add(RunTags.Loss, o.Step, loss);
        if (step.LearningRate is { } lr) Add(RunTags.LearningRate, o.Step, lr);
        if (!o.Sampled) return;
        foreach (var (module, norm) in RunTags.ModuleGradNorms(o)) Add(RunTags.GradNormPrefix + module, o.Step, norm);
        foreach (var (module, f) in RunTags.DeadFractions(o)) Add(RunTags.DeadFractionPrefix + module, o.Step, f);
        if (step.MemoryBytes is { } m) Add(RunTags.MemoryMb, o.Step, m / (1024.0 * 1024.0));
    }

    /// <inheritdoc />
    public void OnScalar(string tag, long step, double value) => Add(tag, step, value);

    /// <inheritdoc />
    public void OnFinding(Finding finding)
    {
        ArgumentNullException.ThrowIfNull(finding);
        _findings.Add(finding);
    }

    /// <inheritdoc />
    public void OnPhase(string name, long step) { }

    /// <inheritdoc />
    public void OnMemory(MemoryStepObservation memory)
    {
        ArgumentNullException.ThrowIfNull(memory);
        Add(RunTags.LiveTensors, memory.Step, memory.LiveTensors);
    }

    /// <summary>The report as it stands (the run so far).</summary>
    public ReportModel Model()
    {
        var log = new ScalarLog(_name, Path);
        foreach (var (tag, points) in _series)
            foreach (var p in points) log.Add(tag, p);
        var analysis = LogAnalysis.Analyze(log, displayName: _name);
        var model = new ReportModel { Title = $"TorchDoctor: run {_name}", Subtitle = _model is null ? null : $"model {_model}" };
        model.Findings.AddRange(_findings);
        model.Runs.Add(ReportRun.From(analysis));
        return model;
    }

    /// <summary>Writes the report (once).</summary>
    public void Dispose()
    {
        if (_written) return;
        _written = true;
        HtmlReport.Write(Model(), Path);
    }
}
