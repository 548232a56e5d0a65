using TorchDoctor.Probes;
using System.Globalization;
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
}
