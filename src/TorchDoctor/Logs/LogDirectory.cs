namespace TorchDoctor.Logs;

/// <summary>A path given to <c>analyze</c> that holds no log, or cannot be read.</summary>
public sealed class LogNotFoundException(string message) : Exception(message);

/// <summary>
/// Finds the runs under a log path the way TensorBoard does: every directory holding event files
/// (<c>*tfevents*</c>) is one run, named by its path relative to the root; a TorchDoctor run log (<c>*.jsonl</c>) is
/// a run too, and when a directory has both, the event files are read and the run log adds its findings and phases.
/// </summary>
public static class LogDirectory
{
    /// <summary>Reads every run under <paramref name="path"/> (a directory, an event file or a run log).</summary>
    /// <exception cref="LogNotFoundException">The path does not exist, or holds neither event files nor run logs.</exception>
    public static IReadOnlyList<ScalarLog> Read(string path, IProgress<(int Done, int Total)>? progress = null)
    {
        ArgumentException.ThrowIfNullOrWhiteSpace(path);
        if (File.Exists(path))
        {
            var name = System.IO.Path.GetFileName(System.IO.Path.GetDirectoryName(System.IO.Path.GetFullPath(path))) ?? path;
            var log = new ScalarLog(name, path);
            if (RunLogReader.IsRunLog(path)) RunLogReader.ReadInto(path, log);
            else EventFileReader.ReadInto(path, log);
            return [log];
        }
        if (!Directory.Exists(path))
            throw new LogNotFoundException($"{path}: no such file or directory; give a TensorBoard log directory, an event file or a run.jsonl");
        var root = System.IO.Path.GetFullPath(path);
        List<string> files;
        try
        {
            files = Directory.EnumerateFiles(root, "*", new EnumerationOptions { RecurseSubdirectories = true, IgnoreInaccessible = true })
                .Where(f => EventFileReader.IsEventFile(f) || RunLogReader.IsRunLog(f)).ToList();
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException)
        {
            throw new LogNotFoundException($"{path}: cannot be listed ({e.Message})");
        }
        if (files.Count == 0)
            throw new LogNotFoundException($"{path}: no TensorBoard event files (events.out.tfevents.*) and no run log (*.jsonl) in it or below it");
        var runs = new List<ScalarLog>();
        var groups = files.GroupBy(f => System.IO.Path.GetDirectoryName(f)!).OrderBy(g => g.Key, StringComparer.Ordinal).ToList();
        int done = 0;
        foreach (var g in groups)
        {
            var rel = System.IO.Path.GetRelativePath(root, g.Key);
            var name = rel == "." ? System.IO.Path.GetFileName(root.TrimEnd(System.IO.Path.DirectorySeparatorChar)) : rel;
            var log = new ScalarLog(name, g.Key);
            var events = g.Where(EventFileReader.IsEventFile).Order(StringComparer.Ordinal).ToList();
            var jsonl = g.Where(RunLogReader.IsRunLog).Order(StringComparer.Ordinal).ToList();
            foreach (var f in events) EventFileReader.ReadInto(f, log);
            if (events.Count == 0)
                foreach (var f in jsonl) RunLogReader.ReadInto(f, log);
            else if (jsonl.Count > 0)
            {
                // Event files carry the scalars; the run log adds findings and phases.
                var extra = new ScalarLog(name, g.Key);
                foreach (var f in jsonl) RunLogReader.ReadInto(f, extra);
                log.RunLog = extra.RunLog;
                log.Files.AddRange(extra.Files);
                log.Problems.AddRange(extra.Problems);
            }
            runs.Add(log);
            progress?.Report((++done, groups.Count));
        }
        return runs;
    }
}
