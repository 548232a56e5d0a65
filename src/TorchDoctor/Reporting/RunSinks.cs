using TorchDoctor.Training;

namespace TorchDoctor.Reporting;

/// <summary>Ready-made sink sets for <see cref="DoctorOptions.Sinks"/>.</summary>
public static class RunSinks
{
    /// <summary>
    /// A run directory: <c>run.jsonl</c> (the run log) and TensorBoard event files side by side, so
    /// <c>tensorboard --logdir</c> and <c>torchdoctor analyze</c> both read it; optionally the HTML report at the end.
    /// </summary>
    /// <param name="runDirectory">The run directory (created if needed).</param>
    /// <param name="tensorBoard">Also write TensorBoard event files.</param>
    /// <param name="htmlReport">Also write <c>report.html</c> (<see cref="HtmlReportSink"/>) when the run ends.</param>
    public static IReadOnlyList<IRunSink> ForDirectory(string runDirectory, bool tensorBoard = true, bool htmlReport = false)
    {
        ArgumentException.ThrowIfNullOrWhiteSpace(runDirectory);
        Directory.CreateDirectory(runDirectory);
        var sinks = new List<IRunSink> { new JsonlRunLog(Path.Combine(runDirectory, JsonlRunLog.FileName)) };
        if (tensorBoard) sinks.Add(new TensorBoardSink(runDirectory));
        if (htmlReport) sinks.Add(new HtmlReportSink(Path.Combine(runDirectory, ReportFileName)));
        return sinks;
    }

    /// <summary>The HTML report's file name in a run directory.</summary>
    public const string ReportFileName = "report.html";
}
