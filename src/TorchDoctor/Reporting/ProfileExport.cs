using System.Globalization;
using System.Text;
using System.Text.Json;
using TorchDoctor.Findings;
using TorchDoctor.Profiling;

namespace TorchDoctor.Reporting;

/// <summary>Display choices of the profile's table: sort column and row limit (not what was measured).</summary>
public sealed record ProfileExportSettings
{
    /// <summary>Sort rows by <c>self</c> (default), <c>total</c>, <c>calls</c> or <c>order</c> (execution order).</summary>
    public string Sort { get; init; } = "self";
    /// <summary>Rows shown (default 20); a line says how many more there are.</summary>
    public int RowLimit { get; init; } = 20;
}

/// <summary>The profile as a text table like torch.profiler's <c>key_averages().table()</c>, plus phases and the unexplained share.</summary>
public sealed class ProfileTextExporter(ProfileExportSettings? settings = null) : ExporterBase<ProfileReport>
{
    /// <summary>The display settings (a negative row limit throws <see cref="ArgumentOutOfRangeException"/>).</summary>
    public ProfileExportSettings Settings { get; } = settings is { RowLimit: < 0 }
        ? throw new ArgumentOutOfRangeException(nameof(settings), settings.RowLimit, "ProfileExportSettings.RowLimit must be 0 or more.")
        : settings ?? new();
    /// <inheritdoc />
    public override string Format => "text";
    /// <inheritdoc />
    public override string Render(ProfileReport report)
    {
        ArgumentNullException.ThrowIfNull(report);
        return ProfileRendering.Table(report, Settings.Sort, Settings.RowLimit);
    }
}

/// <summary>
/// The profile as a Chrome trace (<c>{"traceEvents": [...]}</c>, complete events, microseconds) for Perfetto or
/// chrome://tracing. Spans go to the first thread lane where they nest properly, so every lane is well nested.
/// </summary>
public sealed class ProfileChromeTraceExporter : ExporterBase<ProfileReport>
{
    /// <inheritdoc />
    public override string Format => "chrome-trace";
    /// <inheritdoc />
    public override string Render(ProfileReport report)
    {
        ArgumentNullException.ThrowIfNull(report);
        return ProfileRendering.ChromeTrace(report);
    }
}

/// <summary>The profile as JSON for tools, with the findings drawn from it (<c>ProfileDetector.Detect</c>) when given.</summary>
public sealed class ProfileJsonExporter(JsonExportSettings? settings = null, IReadOnlyList<Finding>? findings = null) : ExporterBase<ProfileReport>
{
    /// <summary>The JSON settings.</summary>
    public JsonExportSettings Settings { get; } = settings ?? new();
    /// <summary>Findings written with the report (none by default).</summary>
    public IReadOnlyList<Finding> Findings { get; } = findings ?? [];
    /// <inheritdoc />
    public override string Format => "json";
    /// <inheritdoc />
    public override string Render(ProfileReport report)
    {
        ArgumentNullException.ThrowIfNull(report);
        return ProfileRendering.Json(report, Findings, Settings.Indented);
    }
}

/// <summary>The profile's renderings (moved out of <see cref="ProfileReport"/>, which keeps only data).</summary>
internal static class ProfileRendering
{
    /// <summary>A text table like torch.profiler's <c>key_averages().table()</c>, plus phases and the unexplained share.</summary>
    public static string Table(ProfileReport r, string sort, int rowLimit)
    {
        var inv = CultureInfo.InvariantCulture;
        var sb = new StringBuilder();
        double selfSum = r.Modules.Sum(m => m.SelfMs);
        sb.AppendLine(inv, $"{"Module",-28} {"Type",-18} {"Calls",6} {"Self %",7} {"Self ms",9} {"Fwd self",9} {"Fwd total",10} {"Bwd self",9} {"Bwd total",10} {"ms/call",8} {"Output",10} {"Saved~",10} {"Params",10}");
        sb.AppendLine(new string('-', 160));
        foreach (var m in r.Sorted(sort).Take(rowLimit))
            sb.AppendLine(inv, $"{Trim(m.Module, 28),-28} {Trim(m.Type, 18),-18} {m.Calls,6:0.#} {(selfSum > 0 ? m.SelfMs / selfSum : 0),7:P1} {m.SelfMs,9:F3} {m.ForwardSelfMs,9:F3} {m.ForwardTotalMs,10:F3} {m.BackwardSelfMs,9:F3} {m.BackwardTotalMs,10:F3} {(m.Calls > 0 ? m.ForwardTotalMs / m.Calls : 0),8:F3} {ByteText.Format(m.OutputBytes),10} {ByteText.Format(m.SavedBytesEstimate),10} {m.Parameters,10:N0}");
        if (r.Modules.Count > rowLimit) sb.AppendLine(inv, $"… {r.Modules.Count - rowLimit} more rows (--row-limit)");
        sb.AppendLine();
        sb.AppendLine(inv, $"Step {r.StepMs:F2} ms over {r.Steps.Count} profiled step(s); model forward {r.ModelForwardMs:F2} ms, model backward {r.ModelBackwardMs:F2} ms.");
        foreach (var p in r.Phases)
            sb.AppendLine(string.Create(inv, $"  {p.Category,-6} {p.Name,-16} {p.Ms,9:F2} ms  {p.Share,6:P1}") + (p.Category == "phase" ? string.Create(inv, $"  tensors +{p.TensorsCreated:0.#}") : ""));
        if (r.Phases.Any(p => p.Category == "phase")) sb.AppendLine(inv, $"  other (no phase)        {r.OtherMs,9:F2} ms  {(r.StepMs > 0 ? r.OtherMs / r.StepMs : 0),6:P1}");
        sb.AppendLine(inv, $"  unexplained             {r.UnexplainedMs,9:F2} ms  {(r.StepMs > 0 ? r.UnexplainedMs / r.StepMs : 0),6:P1}  (outside every phase, region and module)");
        sb.AppendLine("Saved~ is an estimate of the tensors autograd keeps for backward (TorchSharp exposes no saved-tensor hook).");
        return sb.ToString();
    }

    private static string Trim(string s, int w) => s.Length <= w ? s : "…" + s[^(w - 1)..];

    /// <summary>
    /// Chrome trace JSON (<c>{"traceEvents": [...]}</c>, complete events, microseconds) for Perfetto or chrome://tracing.
    /// Spans go to the first thread lane where they nest properly (step, phases, forward modules on lane 1; a span that
    /// would cross another moves to the next lane), so every lane is well nested.
    /// </summary>
    public static string ChromeTrace(ProfileReport r)
    {
        using var ms = new MemoryStream();
        using (var w = new Utf8JsonWriter(ms, new JsonWriterOptions { Indented = false }))
        {
            w.WriteStartObject();
            w.WriteString("displayTimeUnit", "ms");
            w.WriteStartArray("traceEvents");
            var lanes = new List<Stack<ProfileSpan>>();
            var all = r.Steps.SelectMany(s => s.Spans)
                .OrderBy(s => s.StartMicroseconds).ThenByDescending(s => s.DurationMicroseconds).ThenBy(s => Rank(s.Category)).ToList();
            foreach (var sp in all)
            {
                int lane = -1;
                for (int i = 0; i < lanes.Count && lane < 0; i++)
                {
                    var stack = lanes[i];
                    while (stack.Count > 0 && stack.Peek().EndMicroseconds <= sp.StartMicroseconds) stack.Pop();
                    if (stack.Count == 0 || sp.EndMicroseconds <= stack.Peek().EndMicroseconds) lane = i;
                }
                if (lane < 0) { lanes.Add(new Stack<ProfileSpan>()); lane = lanes.Count - 1; }
                lanes[lane].Push(sp);
                w.WriteStartObject();
                w.WriteString("name", sp.Name);
                w.WriteString("cat", sp.Category);
                w.WriteString("ph", "X");
                w.WriteNumber("ts", Math.Round(sp.StartMicroseconds, 3));
                w.WriteNumber("dur", Math.Round(sp.DurationMicroseconds, 3));
                w.WriteNumber("pid", 1);
                w.WriteNumber("tid", lane + 1);
                w.WriteStartObject("args");
                w.WriteNumber("step", sp.Step);
                if (sp.ModuleType is not null) w.WriteString("type", sp.ModuleType);
                w.WriteEndObject();
                w.WriteEndObject();
            }
            w.WriteEndArray();
            w.WriteEndObject();
        }
        return Encoding.UTF8.GetString(ms.ToArray());
    }

    private static int Rank(string category) => category switch { "step" => 0, "phase" => 1, "region" => 2, _ => 3 };

    /// <summary>The report as JSON for tools.</summary>
    public static string Json(ProfileReport r, IReadOnlyList<Finding>? findings, bool indented)
    {
        using var ms = new MemoryStream();
        using (var w = new Utf8JsonWriter(ms, new JsonWriterOptions { Indented = indented, Encoder = System.Text.Encodings.Web.JavaScriptEncoder.UnsafeRelaxedJsonEscaping }))
        {
            w.WriteStartObject();
            w.WriteNumber("steps", r.Steps.Count);
            w.WriteNumber("stepMs", Math.Round(r.StepMs, 4));
            w.WriteNumber("forwardMs", Math.Round(r.ForwardMs, 4));
            w.WriteNumber("modelForwardMs", Math.Round(r.ModelForwardMs, 4));
            w.WriteNumber("modelBackwardMs", Math.Round(r.ModelBackwardMs, 4));
            w.WriteNumber("otherMs", Math.Round(r.OtherMs, 4));
            w.WriteNumber("unexplainedMs", Math.Round(r.UnexplainedMs, 4));
            w.WriteStartArray("phases");
            foreach (var p in r.Phases)
            {
                w.WriteStartObject();
                w.WriteString("name", p.Name);
                w.WriteString("category", p.Category);
                w.WriteNumber("ms", Math.Round(p.Ms, 4));
                w.WriteNumber("share", Math.Round(p.Share, 4));
                w.WriteNumber("tensorsCreated", p.TensorsCreated);
                w.WriteEndObject();
            }
            w.WriteEndArray();
            w.WriteStartArray("modules");
            foreach (var m in r.Modules)
            {
                w.WriteStartObject();
                w.WriteString("module", m.Module);
                w.WriteString("type", m.Type);
                w.WriteNumber("calls", m.Calls);
                w.WriteNumber("forwardSelfMs", Math.Round(m.ForwardSelfMs, 4));
                w.WriteNumber("forwardTotalMs", Math.Round(m.ForwardTotalMs, 4));
                w.WriteNumber("backwardSelfMs", Math.Round(m.BackwardSelfMs, 4));
                w.WriteNumber("backwardTotalMs", Math.Round(m.BackwardTotalMs, 4));
                w.WriteNumber("outputBytes", m.OutputBytes);
                w.WriteNumber("savedBytesEstimate", m.SavedBytesEstimate);
                w.WriteNumber("parameters", m.Parameters);
                w.WriteEndObject();
            }
            w.WriteEndArray();
            w.WriteStartArray("findings");
            foreach (var f in findings ?? [])
            {
                w.WriteStartObject();
                w.WriteString("code", f.Code);
                w.WriteString("slug", f.Slug);
                w.WriteString("severity", f.Severity.ToString().ToLowerInvariant());
                if (f.Module is not null) w.WriteString("module", f.Module);
                w.WriteString("message", f.Message);
                w.WriteString("advice", f.Advice);
                w.WriteStartObject("evidence");
                foreach (var (k, v) in f.Evidence) w.WriteString(k, v);
                w.WriteEndObject();
                w.WriteEndObject();
            }
            w.WriteEndArray();
            w.WriteEndObject();
        }
        return Encoding.UTF8.GetString(ms.ToArray());
    }
}
