using System.Text.Encodings.Web;
using System.Text.Json;
using TorchDoctor.Findings;
using TorchDoctor.Logs;
using TorchDoctor.Observations;
using TorchDoctor.Training;

namespace TorchDoctor.Reporting;

/// <summary>
/// The JSONL run log: one JSON object per line (a <c>run</c> header, then <c>step</c>, <c>memory</c>, <c>scalar</c>,
/// <c>finding</c> and <c>phase</c> records), each flushed to the operating system as written, so a run killed mid-training keeps every record
/// up to its last step. Schema: docs/run-log.md. Read back by <see cref="RunLogReader"/>.
/// </summary>
public sealed class JsonlRunLog : IRunSink
{
    /// <summary>Schema version written in the header.</summary>
    public const int Version = 1;
    /// <summary>The file name used in a run directory.</summary>
    public const string FileName = "run.jsonl";

    private readonly FileStream _stream;
    private readonly Utf8JsonWriter _writer;
    private bool _disposed;

    /// <summary>Creates (or replaces) the log at <paramref name="path"/>.</summary>
    public JsonlRunLog(string path)
    {
        ArgumentException.ThrowIfNullOrWhiteSpace(path);
        Path = System.IO.Path.GetFullPath(path);
        var dir = System.IO.Path.GetDirectoryName(Path);
        if (!string.IsNullOrEmpty(dir)) Directory.CreateDirectory(dir);
        _stream = new FileStream(Path, FileMode.Create, FileAccess.Write, FileShare.Read);
        _writer = new Utf8JsonWriter(_stream, new JsonWriterOptions { Encoder = JavaScriptEncoder.UnsafeRelaxedJsonEscaping, SkipValidation = false });
    }

    /// <summary>The log file.</summary>
    public string Path { get; }

    private void Line(Action<Utf8JsonWriter> body)
    {
        if (_disposed) return;
        _writer.Reset(_stream);
        _writer.WriteStartObject();
        body(_writer);
        _writer.WriteEndObject();
        _writer.Flush();
        _stream.WriteByte((byte)'\n');
        _stream.Flush();   // to the OS: survives the process being killed
    }

    private static void Number(Utf8JsonWriter w, string name, double v)
    {
        if (double.IsFinite(v)) w.WriteNumber(name, v);
        else w.WriteString(name, double.IsNaN(v) ? "NaN" : v > 0 ? "Infinity" : "-Infinity");
    }

    /// <inheritdoc />
    public void OnStart(RunStart start)
    {
        ArgumentNullException.ThrowIfNull(start);
        Line(w =>
        {
            w.WriteString("type", "run");
            w.WriteNumber("version", Version);
            w.WriteString("name", start.Name);
            w.WriteString("model", start.Model);
            w.WriteNumber("sampleInterval", start.SampleInterval);
            w.WriteString("started", start.Started.ToString("O", System.Globalization.CultureInfo.InvariantCulture));
        });
    }

    /// <inheritdoc />
    public void OnStep(StepSample step)
    {
        ArgumentNullException.ThrowIfNull(step);
        var o = step.Observations;
        Line(w =>
        {
            w.WriteString("type", "step");
            w.WriteNumber("step", o.Step);
            w.WriteBoolean("sampled", o.Sampled);
            if (o.Loss is { } loss) Number(w, "loss", loss);
            if (step.LearningRate is { } lr) Number(w, "lr", lr);
            if (o.GlobalGradNorm is { } g) Number(w, "gradNorm", g);
            if (step.MemoryBytes is { } m) w.WriteNumber("memoryBytes", m);
            if (!o.Sampled) return;
            var grads = RunTags.ModuleGradNorms(o).ToList();
            if (grads.Count > 0)
            {
                w.WriteStartObject("layerGradNorm");
                foreach (var (module, norm) in grads) Number(w, module, norm);
                w.WriteEndObject();
            }
            var dead = RunTags.DeadFractions(o).ToList();
            if (dead.Count > 0)
            {
                w.WriteStartObject("deadFraction");
                foreach (var (module, f) in dead) Number(w, module, f);
                w.WriteEndObject();
            }
        });
    }

    /// <inheritdoc />
    public void OnScalar(string tag, long step, double value) => Line(w =>
    {
        w.WriteString("type", "scalar");
        w.WriteString("tag", tag);
        w.WriteNumber("step", step);
        Number(w, "value", value);
    });

    /// <inheritdoc />
    public void OnFinding(Finding finding) => Line(w =>
    {
        w.WriteString("type", "finding");
        SummaryJson.WriteFindingFields(w, finding);
    });

    /// <inheritdoc />
    public void OnPhase(string name, long step) => Line(w =>
    {
        w.WriteString("type", "phase");
        w.WriteString("name", name);
        w.WriteNumber("step", step);
        w.WriteString("time", DateTimeOffset.UtcNow.ToString("O", System.Globalization.CultureInfo.InvariantCulture));
    });

    /// <inheritdoc />
    public void OnMemory(MemoryStepObservation memory)
    {
        ArgumentNullException.ThrowIfNull(memory);
        Line(w =>
        {
            w.WriteString("type", "memory");
            w.WriteNumber("step", memory.Step);
            w.WriteNumber("liveTensors", memory.LiveTensors);
            if (memory.Check is { } c)
            {
                w.WriteNumber("liveAfterCollect", c.LiveTensors);
                w.WriteNumber("nativeBytes", c.NativeBytes);
            }
            if (memory.ResidentBytes is { } rss) w.WriteNumber("residentBytes", rss);
        });
    }

    /// <summary>Closes the file.</summary>
    public void Dispose()
    {
        if (_disposed) return;
        _disposed = true;
        _writer.Dispose();
        _stream.Dispose();
    }
}
