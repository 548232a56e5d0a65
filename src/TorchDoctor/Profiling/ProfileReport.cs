using TorchDoctor.Probes;
using System.Globalization;
using System.Text;
using System.Text.Json;
using TorchDoctor.Inspection;

namespace TorchDoctor.Profiling;

/// <summary>One module's times over the recorded steps (per step averages, like torch.profiler's key_averages).</summary>
/// <param name="Module">Path (<c>(model)</c> for the root).</param>
/// <param name="Type">Module type.</param>
/// <param name="Calls">Calls per step.</param>
/// <param name="ForwardSelfMs">Forward self time per step.</param>
/// <param name="ForwardTotalMs">Forward time per step, children included.</param>
/// <param name="BackwardSelfMs">Backward self time per step (at module boundaries).</param>
/// <param name="BackwardTotalMs">Backward time per step, children included.</param>
/// <param name="OutputBytes">Output bytes per step.</param>
/// <param name="SavedBytesEstimate">Estimated bytes saved for backward per step.</param>
/// <param name="Parameters">Parameters held directly by the module.</param>
public sealed record ModuleProfileRow(string Module, string Type, double Calls, double ForwardSelfMs, double ForwardTotalMs,
    double BackwardSelfMs, double BackwardTotalMs, long OutputBytes, long SavedBytesEstimate, long Parameters)
{
    /// <summary>Forward + backward self time per step.</summary>
    public double SelfMs => ForwardSelfMs + BackwardSelfMs;
    /// <summary>Forward + backward total time per step.</summary>
    public double TotalMs => ForwardTotalMs + BackwardTotalMs;
}

/// <summary>A phase's or region's time per step.</summary>
/// <param name="Name">Phase or region name.</param>
/// <param name="Category"><c>phase</c> or <c>region</c>.</param>
/// <param name="Ms">Milliseconds per step.</param>
/// <param name="Share">Share of the step.</param>
/// <param name="TensorsCreated">Live-tensor count change per step while it ran (phases only).</param>
public sealed record PhaseProfileRow(string Name, string Category, double Ms, double Share, double TensorsCreated);

/// <summary>The profile of the recorded steps: per-module rows, phases, regions, and what is left unexplained.</summary>
public sealed class ProfileReport
{
    /// <summary>Recorded steps.</summary>
    public required IReadOnlyList<ProfiledStep> Steps { get; init; }
    /// <summary>Rows per module, in execution order.</summary>
    public required IReadOnlyList<ModuleProfileRow> Modules { get; init; }
    /// <summary>Phases and regions.</summary>
    public required IReadOnlyList<PhaseProfileRow> Phases { get; init; }
    /// <summary>Mean step time in ms.</summary>
    public double StepMs { get; init; }
    /// <summary>Forward time per step: the forward phase when marked, else the model's own forward.</summary>
    public double ForwardMs { get; init; }
    /// <summary>The model's forward time measured by its root module's hooks.</summary>
    public double ModelForwardMs { get; init; }
    /// <summary>Sum of module forward self times per step (equals the root's total forward time when the root is hooked).</summary>
    public double ModuleForwardSelfMs { get; init; }
    /// <summary>Backward time per step through the model (root module's backward span).</summary>
    public double ModelBackwardMs { get; init; }
    /// <summary>Step time inside no phase (when phases are marked; else 0).</summary>
    public double OtherMs { get; init; }
    /// <summary>Step time inside no phase, no region and no module span.</summary>
    public double UnexplainedMs { get; init; }

    internal static ProfileReport From(IReadOnlyList<ProfiledStep> steps, ModuleTree tree)
    {
        int n = Math.Max(1, steps.Count);
        var rows = new Dictionary<string, (string Type, int Order, double Calls, double FS, double FT, double BS, double BT, long Out, long Saved)>();
        int order = 0;
        foreach (var s in steps)
        {
            var bwdChildren = new double[s.Calls.Count];
            for (int i = 0; i < s.Calls.Count; i++)
                if (s.Calls[i].BackwardMicroseconds is { } b && s.Calls[i].Parent >= 0) bwdChildren[s.Calls[i].Parent] += b;
            for (int i = 0; i < s.Calls.Count; i++)
            {
                var c = s.Calls[i];
                var key = c.Module.Length == 0 ? "(model)" : c.Module;
                var r = rows.TryGetValue(key, out var x) ? x : (c.Type, order++, 0, 0, 0, 0, 0, 0L, 0L);
                double bt = c.BackwardMicroseconds ?? 0;
                rows[key] = (r.Type, r.Order, r.Calls + 1, r.FS + c.ForwardSelfMicroseconds, r.FT + c.ForwardMicroseconds,
                    r.BS + Math.Max(0, bt - bwdChildren[i]), r.BT + bt, r.Out + c.OutputBytes, r.Saved + c.SavedBytesEstimate);
            }
        }
        var parameters = tree.Nodes.ToDictionary(nd => nd.Path.Length == 0 ? "(model)" : nd.Path, nd => nd.DirectParameters.Sum(p => p.Parameter.numel()));
        var modules = rows.OrderBy(kv => kv.Value.Order).Select(kv => new ModuleProfileRow(kv.Key, kv.Value.Type, kv.Value.Calls / n,
            kv.Value.FS / n / 1000, kv.Value.FT / n / 1000, kv.Value.BS / n / 1000, kv.Value.BT / n / 1000, kv.Value.Out / n, kv.Value.Saved / n,
            parameters.GetValueOrDefault(kv.Key))).ToList();

        double stepMs = steps.Sum(s => s.DurationMicroseconds) / n / 1000;
        var phases = steps.SelectMany(s => s.Spans).Where(sp => sp.Category is "phase" or "region")
            .GroupBy(sp => (sp.Name, sp.Category))
            .Select(g => new PhaseProfileRow(g.Key.Name, g.Key.Category, g.Sum(x => x.DurationMicroseconds) / n / 1000,
                stepMs > 0 ? g.Sum(x => x.DurationMicroseconds) / n / 1000 / stepMs : 0,
                g.Key.Category == "phase" ? steps.Sum(s => s.TensorsCreated.GetValueOrDefault(g.Key.Name)) / (double)n : 0))
            .ToList();
        double otherMs = 0, unexplained = 0;
        foreach (var s in steps)
        {
            var step = s.Spans.First(sp => sp.Category == "step");
            var phaseSpans = s.Spans.Where(sp => sp.Category == "phase").ToList();
            if (phaseSpans.Count > 0) otherMs += step.DurationMicroseconds - Union(phaseSpans);
            var covered = s.Spans.Where(sp => sp.Category is "phase" or "region" || sp.Category is "forward" or "backward" && IsTopLevel(s, sp)).ToList();
            unexplained += step.DurationMicroseconds - Union(covered);
        }
        var rootF = modules.FirstOrDefault(m => m.Module == "(model)");
        double modelForward = rootF?.ForwardTotalMs ?? modules.Where(m => !m.Module.Contains('.', StringComparison.Ordinal)).Sum(m => m.ForwardTotalMs);
        var forwardPhase = phases.FirstOrDefault(p => p.Category == "phase" && p.Name == "forward");
        return new ProfileReport
        {
            Steps = steps,
            Modules = modules,
            Phases = phases,
            StepMs = stepMs,
            ForwardMs = forwardPhase?.Ms ?? modelForward,
            ModelForwardMs = modelForward,
            ModuleForwardSelfMs = modules.Sum(m => m.ForwardSelfMs),
            ModelBackwardMs = rootF?.BackwardTotalMs ?? 0,
            OtherMs = otherMs / n / 1000,
            UnexplainedMs = unexplained / n / 1000,
        };
    }

    private static bool IsTopLevel(ProfiledStep s, ProfileSpan sp)
        => s.Calls.Any(c => c.Parent < 0 && (c.Module.Length == 0 ? "(model)" : c.Module) == sp.Name);

    private static double Union(IEnumerable<ProfileSpan> spans)
    {
        double total = 0, curStart = double.NaN, curEnd = double.NaN;
        foreach (var sp in spans.OrderBy(x => x.StartMicroseconds))
        {
            if (double.IsNaN(curStart) || sp.StartMicroseconds > curEnd)
            {
                if (!double.IsNaN(curStart)) total += curEnd - curStart;
                curStart = sp.StartMicroseconds;
                curEnd = sp.EndMicroseconds;
            }
            else curEnd = Math.Max(curEnd, sp.EndMicroseconds);
        }
        if (!double.IsNaN(curStart)) total += curEnd - curStart;
        return total;
    }

    /// <summary>Rows sorted by <paramref name="sort"/> (<c>self</c>, <c>total</c>, <c>calls</c>, or <c>order</c> for execution order).</summary>
    public IEnumerable<ModuleProfileRow> Sorted(string sort = "self") => sort switch
    {
        "total" => Modules.OrderByDescending(m => m.TotalMs),
        "calls" => Modules.OrderByDescending(m => m.Calls).ThenByDescending(m => m.SelfMs),
        "order" => Modules,
        _ => Modules.OrderByDescending(m => m.SelfMs),
    };

    /// <summary>A text table like torch.profiler's <c>key_averages().table()</c>, plus phases and the unexplained share.</summary>
    public string Table(string sort = "self", int rowLimit = 20)
    {
        var inv = CultureInfo.InvariantCulture;
        var sb = new StringBuilder();
        double selfSum = Modules.Sum(m => m.SelfMs);
        sb.AppendLine(inv, $"{"Module",-28} {"Type",-18} {"Calls",6} {"Self %",7} {"Self ms",9} {"Fwd self",9} {"Fwd total",10} {"Bwd self",9} {"Bwd total",10} {"ms/call",8} {"Output",10} {"Saved~",10} {"Params",10}");
        sb.AppendLine(new string('-', 160));
        foreach (var m in Sorted(sort).Take(rowLimit))
            sb.AppendLine(inv, $"{Trim(m.Module, 28),-28} {Trim(m.Type, 18),-18} {m.Calls,6:0.#} {(selfSum > 0 ? m.SelfMs / selfSum : 0),7:P1} {m.SelfMs,9:F3} {m.ForwardSelfMs,9:F3} {m.ForwardTotalMs,10:F3} {m.BackwardSelfMs,9:F3} {m.BackwardTotalMs,10:F3} {(m.Calls > 0 ? m.ForwardTotalMs / m.Calls : 0),8:F3} {Findings.ByteText.Format(m.OutputBytes),10} {Findings.ByteText.Format(m.SavedBytesEstimate),10} {m.Parameters,10:N0}");
        if (Modules.Count > rowLimit) sb.AppendLine(inv, $"… {Modules.Count - rowLimit} more rows (--row-limit)");
        sb.AppendLine();
        sb.AppendLine(inv, $"Step {StepMs:F2} ms over {Steps.Count} profiled step(s); model forward {ModelForwardMs:F2} ms, model backward {ModelBackwardMs:F2} ms.");
        foreach (var p in Phases)
            sb.AppendLine(string.Create(inv, $"  {p.Category,-6} {p.Name,-16} {p.Ms,9:F2} ms  {p.Share,6:P1}") + (p.Category == "phase" ? string.Create(inv, $"  tensors +{p.TensorsCreated:0.#}") : ""));
        if (Phases.Any(p => p.Category == "phase")) sb.AppendLine(inv, $"  other (no phase)        {OtherMs,9:F2} ms  {(StepMs > 0 ? OtherMs / StepMs : 0),6:P1}");
        sb.AppendLine(inv, $"  unexplained             {UnexplainedMs,9:F2} ms  {(StepMs > 0 ? UnexplainedMs / StepMs : 0),6:P1}  (outside every phase, region and module)");
        sb.AppendLine("Saved~ is an estimate of the tensors autograd keeps for backward (TorchSharp exposes no saved-tensor hook).");
        return sb.ToString();
    }

    private static string Trim(string s, int w) => s.Length <= w ? s : "…" + s[^(w - 1)..];

    /// <summary>
    /// Chrome trace JSON (<c>{"traceEvents": [...]}</c>, complete events, microseconds) for Perfetto or chrome://tracing.
    /// Spans go to the first thread lane where they nest properly (step, phases, forward modules on lane 1; a span that
    /// would cross another moves to the next lane), so every lane is well nested.
    /// </summary>
    public string ChromeTrace()
    {
        using var ms = new MemoryStream();
        using (var w = new Utf8JsonWriter(ms, new JsonWriterOptions { Indented = false }))
        {
            w.WriteStartObject();
            w.WriteString("displayTimeUnit", "ms");
            w.WriteStartArray("traceEvents");
            var lanes = new List<Stack<ProfileSpan>>();
            var all = Steps.SelectMany(s => s.Spans)
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
    public string Json(IReadOnlyList<Findings.Finding>? findings = null)
    {
        using var ms = new MemoryStream();
        using (var w = new Utf8JsonWriter(ms, new JsonWriterOptions { Indented = true, Encoder = System.Text.Encodings.Web.JavaScriptEncoder.UnsafeRelaxedJsonEscaping }))
        {
            w.WriteStartObject();
            w.WriteNumber("steps", Steps.Count);
            w.WriteNumber("stepMs", Math.Round(StepMs, 4));
            w.WriteNumber("forwardMs", Math.Round(ForwardMs, 4));
            w.WriteNumber("modelForwardMs", Math.Round(ModelForwardMs, 4));
            w.WriteNumber("modelBackwardMs", Math.Round(ModelBackwardMs, 4));
            w.WriteNumber("otherMs", Math.Round(OtherMs, 4));
            w.WriteNumber("unexplainedMs", Math.Round(UnexplainedMs, 4));
            w.WriteStartArray("phases");
            foreach (var p in Phases)
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
            foreach (var m in Modules)
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
