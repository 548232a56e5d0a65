using System.Globalization;
using TorchDoctor.Findings;

namespace TorchDoctor.Profiling;

/// <summary>
/// Findings from a profile (pure over <see cref="ProfileReport"/>): a module that takes at least half of the model's
/// forward+backward time, a data wait of at least 20% of the step (the loader check's rule, from live steps), an
/// optimizer step slower than forward and backward together, and at least 10% of the step unexplained.
/// </summary>
public static class ProfileDetector
{
    /// <summary>The findings the profile supports.</summary>
    public static IReadOnlyList<Finding> Detect(ProfileReport report)
    {
        ArgumentNullException.ThrowIfNull(report);
        var found = new List<Finding>();
        if (report.Steps.Count == 0 || report.StepMs <= 0) return found;
        var inv = CultureInfo.InvariantCulture;
        double model = report.ModelForwardMs + report.ModelBackwardMs;
        var leaves = report.Modules.Where(m => m.Module != "(model)").ToList();
        var top = leaves.MaxBy(m => m.SelfMs);
        if (top is not null && model > 0 && top.SelfMs >= 0.5 * model)
            found.Add(Finding.Create(PerformanceCodes.DominantModule, top.Module,
                $"{top.Module} ({top.Type}) takes {top.SelfMs.ToString("F2", inv)} ms of the model's {model.ToString("F2", inv)} ms forward+backward per step ({(top.SelfMs / model).ToString("P0", inv)}).",
                "Optimise this module first: a smaller kernel or width, fewer channels, or a cheaper operation; everything else is second order.",
                new Dictionary<string, string> { ["self ms"] = top.SelfMs.ToString("F3", inv), ["model ms"] = model.ToString("F3", inv) }));
        var phase = report.Phases.Where(p => p.Category == "phase").ToDictionary(p => p.Name);
        if (phase.TryGetValue("data wait", out var wait) && wait.Share >= 0.2)
            found.Add(Finding.Create(PerformanceCodes.DataWait, null,
                $"The step waits {wait.Ms.ToString("F2", inv)} ms for data ({wait.Share.ToString("P0", inv)} of {report.StepMs.ToString("F2", inv)} ms).",
                "Prepare batches ahead of the step: decode and augment once (cache tensors), use a DataLoader with workers, or move per-sample work to batched tensor operations.",
                new Dictionary<string, string> { ["data wait ms"] = wait.Ms.ToString("F3", inv), ["share"] = wait.Share.ToString("F3", inv) }));
        double fb = (phase.GetValueOrDefault("forward")?.Ms ?? report.ModelForwardMs) + (phase.GetValueOrDefault("backward")?.Ms ?? report.ModelBackwardMs);
        if (phase.TryGetValue("optimizer step", out var opt) && fb > 0 && opt.Ms > fb)
            found.Add(Finding.Create(PerformanceCodes.SlowOptimizerStep, null,
                $"optimizer.step() takes {opt.Ms.ToString("F2", inv)} ms, more than forward and backward together ({fb.ToString("F2", inv)} ms).",
                "Use a fused or foreach optimizer implementation, step less often (gradient accumulation), or keep fewer optimizer states (SGD with momentum instead of Adam for large embeddings).",
                new Dictionary<string, string> { ["optimizer ms"] = opt.Ms.ToString("F3", inv), ["forward+backward ms"] = fb.ToString("F3", inv) }));
        double share = report.UnexplainedMs / report.StepMs;
        if (share >= 0.1)
            found.Add(Finding.Create(PerformanceCodes.UnexplainedTime, null,
                $"{report.UnexplainedMs.ToString("F2", inv)} ms per step ({share.ToString("P0", inv)}) run outside every module, phase and region.",
                "Mark the rest of the step with `profiler.Phase(...)` or `profiler.Region(\"name\")` to see where it goes; per-step host copies, `.item()` syncs and logging are the usual suspects.",
                new Dictionary<string, string> { ["unexplained ms"] = report.UnexplainedMs.ToString("F3", inv), ["share"] = share.ToString("F3", inv) }));
        return found;
    }
}
