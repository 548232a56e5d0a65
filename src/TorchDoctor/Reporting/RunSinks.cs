using TorchDoctor.Training;

namespace TorchDoctor.Reporting;

/// <summary>Ready-made sink sets for <see cref="DoctorOptions.Sinks"/>.</summary>
public static class RunSinks
{
    /// <summary>
    /// A run directory: <c>run.jsonl</c> (the run log) and TensorBoard event files side by side, so
    /// <c>tensorboard --logdir</c> and <c>torchdoctor analyze</c> both read it.
    /// </summary>
    public static IReadOnlyList<IRunSink> ForDirectory(string runDirectory, bool tensorBoard = true)
    {
        ArgumentException.ThrowIfNullOrWhiteSpace(runDirectory);
        Directory.CreateDirectory(runDirectory);
        var sinks = new List<IRunSink> { new JsonlRunLog(Path.Combine(runDirectory, JsonlRunLog.FileName)) };
        if (tensorBoard) sinks.Add(new TensorBoardSink(runDirectory));
        return sinks;
    }
}
