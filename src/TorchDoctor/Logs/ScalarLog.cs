using TorchDoctor.Observations;
namespace TorchDoctor.Logs;


/// <summary>A text entry from a log (TensorBoard text plugin or a run-log finding).</summary>
/// <param name="Tag">The tag.</param>
/// <param name="Step">The step.</param>
/// <param name="Text">The text.</param>
public sealed record LogText(string Tag, long Step, string Text);

/// <summary>Something wrong with a log file; reading went on where it could (the message says what was kept).</summary>
/// <param name="File">The file.</param>
/// <param name="Offset">Byte offset (event files) or line number (run logs) where it was found.</param>
/// <param name="Message">One line: what is wrong and what was done about it.</param>
/// <param name="IsTruncation">True for a truncated last record: a run still being written or killed mid-write, not corruption.</param>
public sealed record LogProblem(string File, long Offset, string Message, bool IsTruncation = false)
{
    /// <inheritdoc />
    public override string ToString() => $"{File} at {Offset}: {Message}";
}

/// <summary>
/// The scalars of one run (one directory of TensorBoard event files, or one TorchDoctor run log), by tag, in the
/// order they were written; plus texts and the problems met while reading.
/// </summary>
public sealed class ScalarLog
{
    private readonly Dictionary<string, List<ScalarPoint>> _scalars = new(StringComparer.Ordinal);

    /// <summary>Creates an empty log for the run <paramref name="name"/> read from <paramref name="path"/>.</summary>
    public ScalarLog(string name, string path)
    {
        Name = name;
        Path = path;
    }

    /// <summary>Run name (the directory relative to the log root, like TensorBoard shows it).</summary>
    public string Name { get; }
    /// <summary>The directory or file read.</summary>
    public string Path { get; }
    /// <summary>Scalars by tag.</summary>
    public IReadOnlyDictionary<string, List<ScalarPoint>> Scalars => _scalars;
    /// <summary>The tags, in first-seen order is not guaranteed; sorted ordinally.</summary>
    public IReadOnlyList<string> Tags => _scalars.Keys.Order(StringComparer.Ordinal).ToList();
    /// <summary>Texts (findings written as text, notes).</summary>
    public List<LogText> Texts { get; } = [];
    /// <summary>Problems met while reading; what could be read is kept.</summary>
    public List<LogProblem> Problems { get; } = [];
    /// <summary>Files read.</summary>
    public List<string> Files { get; } = [];
    /// <summary>Records (events or lines) read successfully.</summary>
    public long Records { get; set; }
    /// <summary>Scalar values read.</summary>
    public long ScalarCount { get; private set; }
    /// <summary>Extra run-log content (findings, layer statistics) when the source was a TorchDoctor run log; null for event files.</summary>
    public RunLogContent? RunLog { get; set; }

    /// <summary>Adds one scalar.</summary>
    public void Add(string tag, ScalarPoint point)
    {
        if (!_scalars.TryGetValue(tag, out var list)) _scalars[tag] = list = [];
        list.Add(point);
        ScalarCount++;
    }

    /// <summary>The points of <paramref name="tag"/>, or an empty list.</summary>
    public IReadOnlyList<ScalarPoint> Get(string tag) => _scalars.TryGetValue(tag, out var l) ? l : [];

    /// <summary>
    /// The series of <paramref name="tag"/> as TensorBoard shows it: sorted by step, and where a step was logged twice
    /// (a resumed run) the last value written wins.
    /// </summary>
    public IReadOnlyList<ScalarPoint> Series(string tag)
    {
        if (!_scalars.TryGetValue(tag, out var l)) return [];
        bool sorted = true;
        for (int i = 1; i < l.Count && sorted; i++) sorted = l[i].Step > l[i - 1].Step;
        if (sorted) return l;
        var byStep = new SortedDictionary<long, ScalarPoint>();
        foreach (var p in l) byStep[p.Step] = p;
        return byStep.Values.ToList();
    }
}
