using System.Text.Json;
using TorchDoctor.Findings;

namespace TorchDoctor.Logs;

/// <summary>
/// Reads a TorchDoctor JSONL run log (docs/run-log.md) back into scalars by tag (the same tags as the TensorBoard sink
/// writes, <see cref="RunTags"/>), findings and phases. A last line cut off mid-write (a killed run) is reported as a
/// truncation and dropped; other unreadable lines are skipped and reported; everything else is kept.
/// </summary>
public static class RunLogReader
{
    /// <summary>True for a file name that is a run log (<c>*.jsonl</c>).</summary>
    public static bool IsRunLog(string fileName) => fileName.EndsWith(".jsonl", StringComparison.OrdinalIgnoreCase);

    /// <summary>Reads the run log at <paramref name="path"/>.</summary>
    public static ScalarLog Read(string path, string? name = null)
    {
        var log = new ScalarLog(name ?? System.IO.Path.GetFileName(System.IO.Path.GetDirectoryName(System.IO.Path.GetFullPath(path))) ?? path, path);
        ReadInto(path, log);
        return log;
    }

    /// <summary>Reads the run log at <paramref name="path"/> into <paramref name="log"/>.</summary>
    public static void ReadInto(string path, ScalarLog log)
    {
        ArgumentNullException.ThrowIfNull(log);
        string text;
        try
        {
            using var fs = new FileStream(path, FileMode.Open, FileAccess.Read, FileShare.ReadWrite | FileShare.Delete);
            using var reader = new StreamReader(fs);
            text = reader.ReadToEnd();
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException)
        {
            log.Problems.Add(new LogProblem(path, 0, "cannot be read: " + e.Message));
            return;
        }
        log.Files.Add(path);
        var content = log.RunLog ??= new RunLogContent();
        var lines = text.Split('\n');
        bool endsWithNewline = text.EndsWith('\n');
        int problems = 0;
        for (int i = 0; i < lines.Length; i++)
        {
            var line = lines[i].TrimEnd('\r');
            if (line.Length == 0) continue;
            bool last = i == lines.Length - 1 && !endsWithNewline;
            try
            {
                using var doc = JsonDocument.Parse(line);
                Record(doc.RootElement, log, content);
                log.Records++;
            }
            catch (Exception e) when (e is JsonException or InvalidOperationException or FormatException or KeyNotFoundException)
            {
                if (last)
                    log.Problems.Add(new LogProblem(path, i + 1, $"last line is cut off (the run was killed or is still writing); {log.Records} records before it are kept", true));
                else if (problems++ < 10)
                    log.Problems.Add(new LogProblem(path, i + 1, "not a run-log record (" + e.Message.Split('\n')[0].Trim() + "): line skipped"));
            }
        }
        if (problems > 10) log.Problems.Add(new LogProblem(path, lines.Length, $"{problems - 10} more unreadable lines skipped"));
    }

    private static double Num(JsonElement e) => e.ValueKind switch
    {
        JsonValueKind.Number => e.GetDouble(),
        JsonValueKind.String => e.GetString() switch
        {
            "NaN" => double.NaN,
            "Infinity" => double.PositiveInfinity,
            "-Infinity" => double.NegativeInfinity,
            var s => throw new FormatException($"'{s}' is not a number"),
        },
        _ => throw new FormatException($"{e.ValueKind} is not a number"),
    };

    private static void Record(JsonElement r, ScalarLog log, RunLogContent content)
    {
        var type = r.GetProperty("type").GetString();
        long step = r.TryGetProperty("step", out var s) && s.ValueKind == JsonValueKind.Number ? s.GetInt64() : 0;
        switch (type)
        {
            case "run":
                foreach (var p in r.EnumerateObject())
                    if (p.Name != "type") content.Header[p.Name] = p.Value.ToString();
                break;
            case "step":
                content.LastStep = Math.Max(content.LastStep, step);
                if (r.TryGetProperty("loss", out var loss)) log.Add(RunTags.Loss, new(step, Num(loss), 0));
                if (r.TryGetProperty("lr", out var lr)) log.Add(RunTags.LearningRate, new(step, Num(lr), 0));
                if (r.TryGetProperty("gradNorm", out var g)) log.Add(RunTags.GlobalGradNorm, new(step, Num(g), 0));
                if (r.TryGetProperty("memoryBytes", out var m)) log.Add(RunTags.MemoryMb, new(step, Num(m) / (1024 * 1024), 0));
                if (r.TryGetProperty("layerGradNorm", out var layers))
                    foreach (var p in layers.EnumerateObject()) log.Add(RunTags.GradNormPrefix + p.Name, new(step, Num(p.Value), 0));
                if (r.TryGetProperty("deadFraction", out var dead))
                    foreach (var p in dead.EnumerateObject()) log.Add(RunTags.DeadFractionPrefix + p.Name, new(step, Num(p.Value), 0));
                break;
            case "memory":
                if (r.TryGetProperty("liveTensors", out var live)) log.Add(RunTags.LiveTensors, new(step, Num(live), 0));
                if (r.TryGetProperty("liveAfterCollect", out var kept)) log.Add(RunTags.LiveTensorsAfterCollect, new(step, Num(kept), 0));
                break;
            case "scalar":
                log.Add(r.GetProperty("tag").GetString() ?? throw new FormatException("scalar without a tag"), new(step, Num(r.GetProperty("value")), 0));
                break;
            case "finding":
                content.Findings.Add(ReadFinding(r));
                break;
            case "phase":
                var name = r.GetProperty("name").GetString() ?? "";
                content.Phases.Add((name, step));
                if (name == "end") content.Completed = true;
                break;
            default:
                throw new FormatException($"unknown record type '{type}'");
        }
    }

    /// <summary>A finding from its JSON object (the shared findings format).</summary>
    public static Finding ReadFinding(JsonElement r)
    {
        var evidence = new Dictionary<string, string>();
        if (r.TryGetProperty("evidence", out var ev) && ev.ValueKind == JsonValueKind.Object)
            foreach (var p in ev.EnumerateObject()) evidence[p.Name] = p.Value.ToString();
        var sev = r.GetProperty("severity").GetString() switch
        {
            "error" => Severity.Error,
            "warning" => Severity.Warning,
            "info" => Severity.Info,
            var x => throw new FormatException($"unknown severity '{x}'"),
        };
        return new Finding(
            r.GetProperty("code").GetString() ?? "",
            r.TryGetProperty("slug", out var slug) ? slug.GetString() ?? "" : "",
            sev,
            r.TryGetProperty("module", out var mod) && mod.ValueKind == JsonValueKind.String ? mod.GetString() : null,
            r.TryGetProperty("step", out var st) && st.ValueKind == JsonValueKind.Number ? st.GetInt64() : null,
            r.GetProperty("message").GetString() ?? "",
            evidence,
            r.TryGetProperty("advice", out var adv) ? adv.GetString() ?? "" : "");
    }
}
