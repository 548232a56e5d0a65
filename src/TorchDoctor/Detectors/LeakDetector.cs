using System.Globalization;
using TorchDoctor.Findings;
using TorchDoctor.Observations;

namespace TorchDoctor.Detectors;

/// <summary>Thresholds of <see cref="LeakDetector"/> (the numbers behind them are in docs/memory.md).</summary>
public sealed record LeakThresholds
{
    /// <summary>Checks before this step are ignored: optimizer state, allocator and kernel caches fill up during the first steps.</summary>
    public int WarmupSteps { get; init; } = 10;
    /// <summary>Tensor rule: this many consecutive checks must each set a new high of live tensors after collection. Default 4.</summary>
    public int RisingChecks { get; init; } = 4;
    /// <summary>Tensor rule: the live count must rise by at least this many tensors over those checks. Default 3.</summary>
    public long MinTensorRise { get; init; } = 3;
    /// <summary>
    /// Graph rule: this many consecutive checks must each set a new high of past steps' autograd graphs still alive
    /// after collection (the doctor's output marker of each training step). Default 4.
    /// </summary>
    public int RisingGraphChecks { get; init; } = 4;
    /// <summary>Graph rule: the number of live past-step graphs must rise by at least this many over those checks. Default 3.</summary>
    public long MinGraphRise { get; init; } = 3;
    /// <summary>Native rule: checks before this step are ignored (demo loops grew their native floor by up to 117 KB/step until step ~45). Default 50.</summary>
    public int NativeWarmupSteps { get; init; } = 50;
    /// <summary>Native rule: checks per group; the group's minimum is its floor (garbage and transient buffers only raise a reading). Default 3.</summary>
    public int FloorGroup { get; init; } = 3;
    /// <summary>Native rule: this many consecutive group floors must rise. Default 3.</summary>
    public int RisingFloors { get; init; } = 3;
    /// <summary>Native rule: the floor must rise by at least this many bytes per step (a clean run's floor drifts by ~0.2 KB/step). Default 2 KB.</summary>
    public double MinNativeBytesPerStep { get; init; } = 2048;
    /// <summary>Native rule: and by at least this many bytes in all. Default 1 MB (a demo run whose floor rose 398 KB over 30 steps after warm-up was not leaking).</summary>
    public long MinNativeRise { get; init; } = 1024 * 1024;
    /// <summary>
    /// Whether the native-memory rule runs. Default false: on leak-free demo and corpus runs the native floor after
    /// collection still rose by 0.4–2.9 MB over 30–35 steps (allocator caching), as much as a running total
    /// <c>total = total + loss</c> leaks (10–28 KB/step, docs/memory.md). The live-tensor and live-graph rules are on by
    /// default; the graph rule finds the running total without reading memory sizes.
    /// </summary>
    public bool NativeRule { get; init; }
}

/// <summary>
/// Leak rules over the leak watch's checks (live tensors and native bytes measured after a full collection).
/// A leak is growth of what survives collection, sustained over several checks after warm-up:
/// <list type="bullet">
/// <item><b>tensor leak</b> (<see cref="PerformanceCodes.TensorLeak"/>): each of the last <see cref="LeakThresholds.RisingChecks"/>
/// checks sets a new high of live tensors, by at least <see cref="LeakThresholds.MinTensorRise"/> in all. After a collection the
/// count is exact, so a flat program gives a flat series and growth is unambiguous.</item>
/// <item><b>graph leak</b> (<see cref="PerformanceCodes.GraphLeak"/>): the program's live tensor count is flat but autograd graphs of
/// past training steps stay alive, more at each of the last <see cref="LeakThresholds.RisingGraphChecks"/> checks: a tensor kept
/// across steps (a running total) chains every step's graph to the next. Counted exactly through the doctor's output marker node
/// (<see cref="Probes.ProbeNodes"/>).</item>
/// <item><b>native leak</b> (<see cref="PerformanceCodes.GraphLeak"/>, opt-in): the live tensor count is flat but the floor of native bytes
/// in use (minimum of each group of checks) rises over <see cref="LeakThresholds.RisingFloors"/> groups, faster than
/// <see cref="LeakThresholds.MinNativeBytesPerStep"/>. This is a kept tensor whose autograd graph grows each step.</item>
/// </list>
/// Pure and deterministic: the same checks give the same finding.
/// </summary>
public static class LeakDetector
{
    /// <summary>The leak the checks show, or null.</summary>
    public static Finding? Detect(IReadOnlyList<MemoryCheck> checks, LeakThresholds thresholds)
    {
        ArgumentNullException.ThrowIfNull(checks);
        ArgumentNullException.ThrowIfNull(thresholds);
        var post = checks.Where(c => c.Step >= thresholds.WarmupSteps).ToList();
        return TensorRule(post, thresholds) ?? GraphRule(post, thresholds) ??
               (thresholds.NativeRule ? NativeRule(post.Where(c => c.Step >= thresholds.NativeWarmupSteps).ToList(), thresholds) : null);
    }

    private static Finding? TensorRule(List<MemoryCheck> post, LeakThresholds t)
    {
        int k = t.RisingChecks;
        if (post.Count < k + 1) return null;
        int n = post.Count;
        for (int i = n - k; i < n; i++)
        {
            long before = post.Take(i).Max(c => c.ProgramTensors);
            if (post[i].ProgramTensors <= before) return null;
        }
        // The growth began after the last check that is not part of the rising run.
        int start = n - k;
        while (start > 0 && post[start].ProgramTensors > post[start - 1].ProgramTensors) start--;
        return post[^1].ProgramTensors - post[start].ProgramTensors < t.MinTensorRise ? null : TensorFinding(post, start);
    }

    private static Finding TensorFinding(List<MemoryCheck> post, int start)
    {
        var first = post[start];
        var last = post[^1];
        long rise = last.ProgramTensors - first.ProgramTensors;
        long steps = Math.Max(1, last.Step - first.Step);
        double perStep = (double)rise / steps;
        double bytesPerStep = (double)(last.NativeBytes - first.NativeBytes) / steps;
        var evidence = new Dictionary<string, string>
        {
            ["live tensors after collection"] = string.Join(", ", post.Skip(start).Select(c => $"{c.ProgramTensors} @ step {c.Step}")),
            ["tensors per step"] = perStep.ToString("0.##", CultureInfo.InvariantCulture),
            ["native bytes per step"] = Bytes(bytesPerStep),
            ["growing since step"] = first.Step.ToString(CultureInfo.InvariantCulture),
        };
        if (last.PastStepGraphs > first.PastStepGraphs)
            evidence["graphs of past steps alive"] = string.Join(", ", post.Skip(start).Select(c => $"{c.PastStepGraphs} @ step {c.Step}"));
        if (last.ProbeTensors > 0)
            evidence["tensors held by TorchDoctor's nodes in those graphs (not counted)"] = last.ProbeTensors.ToString(CultureInfo.InvariantCulture);
        return Finding.Create(PerformanceCodes.TensorLeak, null,
            $"Live tensors that survive a garbage collection grew from {first.ProgramTensors} at step {first.Step} to {last.ProgramTensors} at step {last.Step} " +
            $"({perStep.ToString("0.##", CultureInfo.InvariantCulture)} tensors and {Bytes(bytesPerStep)} of native memory per step): something keeps a reference to tensors made at every step.",
            "Find what holds them: attach with `DoctorOptions.LeakAttribution = true` to name the field or local and the source line. " +
            "The usual causes: a list of losses or outputs (keep `loss.item<float>()` instead, or `loss.detach()` moved out of the step's scope only if you need the tensor), " +
            "a cache filled every step, tensors created outside `using var scope = torch.NewDisposeScope()` and stored. " +
            "Wrap each step in `torch.NewDisposeScope()` and call `.MoveToOuterDisposeScope()` only on what must outlive it.",
            evidence, last.Step);
    }

    private static Finding? GraphRule(List<MemoryCheck> post, LeakThresholds t)
    {
        int k = t.RisingGraphChecks;
        if (post.Count < k + 1) return null;
        int n = post.Count;
        for (int i = n - k; i < n; i++)
            if (post[i].PastStepGraphs <= post.Take(i).Max(c => c.PastStepGraphs)) return null;
        int start = n - k;
        while (start > 0 && post[start].PastStepGraphs > post[start - 1].PastStepGraphs) start--;
        var first = post[start];
        var last = post[^1];
        long rise = last.PastStepGraphs - first.PastStepGraphs;
        if (rise < t.MinGraphRise) return null;
        // The program's tensors rose with the graphs (a list of losses: each kept loss keeps its graph), only not at every
        // check (the doctor's weight copies at densely sampled steps move the count by a few dozen): a tensor leak.
        long tensorRise = last.ProgramTensors - first.ProgramTensors;
        if (tensorRise >= Math.Max(t.MinTensorRise, rise / 2)) return TensorFinding(post, start);
        long steps = Math.Max(1, last.Step - first.Step);
        double perStep = (double)rise / steps;
        double bytesPerStep = (double)(last.NativeBytes - first.NativeBytes) / steps;
        var evidence = new Dictionary<string, string>
        {
            ["graphs of past steps alive after collection"] = string.Join(", ", post.Skip(start).Select(c => $"{c.PastStepGraphs} @ step {c.Step}")),
            ["graphs kept per step"] = perStep.ToString("0.##", CultureInfo.InvariantCulture),
            ["program's live tensors"] = string.Join(", ", post.Skip(start).Select(c => $"{c.ProgramTensors} @ step {c.Step}")),
            ["native bytes per step"] = Bytes(bytesPerStep),
            ["growing since step"] = first.Step.ToString(CultureInfo.InvariantCulture),
        };
        return Finding.Create(PerformanceCodes.GraphLeak, null,
            $"The autograd graphs of {last.PastStepGraphs} earlier training steps are still alive at step {last.Step} after a garbage collection " +
            $"({first.PastStepGraphs} at step {first.Step}, {perStep.ToString("0.##", CultureInfo.InvariantCulture)} more per step; native memory {Bytes(bytesPerStep)} per step) " +
            $"while the program's live tensors stayed at {last.ProgramTensors}: a tensor kept across steps chains every step's graph to the next.",
            "The usual cause is a running total built from tensors that require grad: `total = total + loss` keeps every step's graph. " +
            "Sum plain numbers instead: `total += loss.item<float>()` (or add `loss.detach()`). " +
            "Attach with `DoctorOptions.LeakAttribution = true` to name the field or local that holds the tensor.",
            evidence, last.Step);
    }

    private static Finding? NativeRule(List<MemoryCheck> post, LeakThresholds t)
    {
        int g = t.FloorGroup, r = t.RisingFloors;
        if (post.Count < g * r) return null;
        // Groups aligned on the newest check, so the decision always uses the latest data.
        var floors = new List<MemoryCheck>();
        for (int end = post.Count; end - g >= 0 && floors.Count < r; end -= g)
            floors.Insert(0, post.Skip(end - g).Take(g).MinBy(c => c.NativeBytes)!);
        for (int i = 1; i < floors.Count; i++)
            if (floors[i].NativeBytes <= floors[i - 1].NativeBytes) return null;
        var window = post.Skip(post.Count - g * r).ToList();
        if (window.Max(c => c.ProgramTensors) - window.Min(c => c.ProgramTensors) > 1) return null;   // tensors move: the tensor rule's business
        var first = floors[0];
        var last = floors[^1];
        long rise = last.NativeBytes - first.NativeBytes;
        long steps = Math.Max(1, last.Step - first.Step);
        double perStep = (double)rise / steps;
        if (rise < t.MinNativeRise || perStep < t.MinNativeBytesPerStep) return null;
        var evidence = new Dictionary<string, string>
        {
            ["native bytes after collection (floors)"] = string.Join(", ", floors.Select(c => $"{Bytes(c.NativeBytes)} @ step {c.Step}")),
            ["native bytes per step"] = Bytes(perStep),
            ["live tensors after collection"] = window[^1].LiveTensors.ToString(CultureInfo.InvariantCulture),
            ["growing since step"] = first.Step.ToString(CultureInfo.InvariantCulture),
        };
        return Finding.Create(PerformanceCodes.GraphLeak, null,
            $"Native memory in use after collection grew by {Bytes(rise)} from step {first.Step} to step {last.Step} ({Bytes(perStep)} per step) " +
            $"while the live tensor count stayed at {window[^1].LiveTensors}: a tensor kept across steps holds an autograd graph that grows every step.",
            "The usual cause is a running total built from tensors that require grad: `total = total + loss` chains every step's graph to the next. " +
            "Sum plain numbers instead: `total += loss.item<float>()` (or `loss.detach()`). Forward passes outside training (validation) that keep outputs need " +
            "`using (torch.no_grad())`. Attach with `DoctorOptions.LeakAttribution = true` to name the field or local that holds the tensor.",
            evidence, last.Step);
    }

    /// <summary>A byte count in B, KB, MB or GB (binary units), invariant culture.</summary>
    public static string Bytes(double b) => ByteText.Format(b);
}
