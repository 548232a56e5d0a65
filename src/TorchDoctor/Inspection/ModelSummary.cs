using System.Runtime.InteropServices;
using TorchDoctor.Findings;
using TorchDoctor.Probes;
using TorchDoctor.Runtime;
using TorchSharp;
using static TorchSharp.torch;
using Module = TorchSharp.torch.nn.Module;

namespace TorchDoctor.Inspection;

/// <summary>
/// torchinfo-style model summary: one forward pass with hooks on every module, then (optionally) one
/// measured forward+backward step. The model's parameters, gradients, buffers, mode and the global RNG
/// state are left as they were.
/// </summary>
public static class ModelSummary
{
    /// <summary>Summarises <paramref name="model"/> for inputs of the given shapes (float32).</summary>
    public static SummaryReport Run(Module model, params long[][] inputShapes)
        => Run(model, new SummaryOptions { InputShapes = inputShapes });

    /// <summary>Summarises <paramref name="model"/> with the given options.</summary>
    public static SummaryReport Run(Module model, SummaryOptions options)
    {
        ArgumentNullException.ThrowIfNull(model);
        ArgumentNullException.ThrowIfNull(options);
        if (options.InputShapes is null) throw new ArgumentNullException(nameof(options), "SummaryOptions.InputShapes is null; give shapes (e.g. [[1, 3, 224, 224]]) or an empty list with InputTensors.");
        if (options.InputDTypes is null) throw new ArgumentNullException(nameof(options), "SummaryOptions.InputDTypes is null; give an empty list for float32 inputs.");
        if (options.InputShapes.Any(sh => sh is null)) throw new ArgumentNullException(nameof(options), "SummaryOptions.InputShapes holds a null shape.");
        if (options.BatchDim is { } b && options.InputShapes.Any(sh => b < 0 || b > sh.Length))
            throw new ArgumentOutOfRangeException(nameof(options), b, $"SummaryOptions.BatchDim {b} is not a place to insert a batch dimension in {string.Join(", ", options.InputShapes.Select(TensorInfo.FormatShape))}: it must be 0..{options.InputShapes.Min(sh => sh.Length)}.");
        TorchRuntime.EnsureLoaded();
        if (options.InputTensors is not { Count: > 0 }) CheckMemory(model, options);
        var tree = ModuleTree.Build(model);
        var keys = new ParamKeys(tree);
        var wasTraining = model.training;
        var rngState = torch.get_rng_state();
        var savedBuffers = options.TrainMode ? SnapshotBuffers(model) : null;
        try
        {
            model.train(options.TrainMode);
            return RunCore(model, tree, keys, options);
        }
        finally
        {
            model.train(wasTraining);
            if (savedBuffers is not null) RestoreBuffers(savedBuffers);
            torch.set_rng_state(rngState);
            rngState.Dispose();
        }
    }

    private static SummaryReport RunCore(Module model, ModuleTree tree, ParamKeys keys, SummaryOptions options)
    {
        var recorder = new CallRecorder(tree);
        var findings = new List<Finding>();
        ForwardFailure? failure = null;
        var gotGrad = new HashSet<long>();
        bool gradStepRan = false;
        List<long[]> inputShapes, outputShapes = [];
        long inputBytes;
        ModuleHooks hooks;

        using (var scope = torch.NewDisposeScope())
        using (torch.enable_grad())
        {
            var inputs = MakeInputs(model, options);
            inputShapes = inputs.Select(t => t.shape).ToList();
            inputBytes = inputs.Sum(t => t.numel() * t.ElementSize);
            hooks = ModuleHooks.Attach(tree.Nodes.Select(n => n.Module), recorder);
            try
            {
                var output = ModelInvoker.Call(model, inputs.Cast<object?>().ToList());
                outputShapes = TensorInfo.Collect(output).Select(i => i.Shape).ToList();
                var trainable = keys.Unique.Where(p => p.Parameter.requires_grad).ToList();
                var loss = LossOf(output);
                if (loss is not null && trainable.Count > 0)
                {
                    var grads = torch.autograd.grad([loss], trainable.Select(p => (Tensor)p.Parameter).ToList(), allow_unused: true);
                    for (int i = 0; i < trainable.Count; i++)
                        if (grads[i] is { } g && !g.IsInvalid && g.Handle != IntPtr.Zero) gotGrad.Add(trainable[i].Key);
                    gradStepRan = true;
                }
            }
            catch (Exception ex) when (ex is not OutOfMemoryException and not Runtime.TorchRuntimeUnavailableException)
            {
                failure = ShapeExplainer.Explain(ex, recorder);
                findings.Add(Finding.Create(failure.Kind == "unknown" ? StructureCodes.ForwardFailed : StructureCodes.ShapeMismatch,
                    failure.Module, $"{failure.Rule}", failure.Fix,
                    new Evidence
                    {
                        ["received"] = string.Join(", ", failure.InputShapes.Select(TensorInfo.FormatShape)),
                        ["libtorch"] = failure.NativeMessage,
                    }));
            }
            finally
            {
                hooks.Dispose();
            }
        }

        var rows = BuildRows(tree, keys, recorder);
        var neverRan = AnalyseCoverage(tree, keys, recorder, hooks, gotGrad, gradStepRan, failure is not null, findings);

        long? measured = null;
        string? method = null;
        (long, long)? live = null;
        if (failure is null && options.MeasureMemory)
            (measured, method, live) = MeasureStep(model, keys, options);

        var leaves = rows.Where(r => r.IsLeaf && r.Ran).ToList();
        // TorchScript runs its layers natively: what torchinfo derives from per-layer calls is unknown, not 0.
        // So are the totals of a pass that failed part-way (the layers after the failure never ran).
        bool opaque = failure is not null || tree.Nodes.Any(n => n.Module is jit.ScriptModule);
        return new SummaryReport
        {
            ModelName = ModuleNode.TypeNameOf(model),
            Rows = rows,
            TotalParams = keys.Unique.Sum(p => p.Parameter.numel()),
            TrainableParams = keys.Unique.Where(p => p.Parameter.requires_grad).Sum(p => p.Parameter.numel()),
            MultAdds = opaque ? null : leaves.Sum(r => r.MultAdds ?? 0),
            InputBytes = inputBytes,
            ForwardBackwardBytes = opaque ? null : leaves.Where(r => r.Params > 0).Sum(r => r.OutputBytes * 2),
            ParamsBytes = keys.Unique.Sum(p => p.Parameter.numel() * p.Parameter.ElementSize),
            BuffersBytes = keys.UniqueBuffers.Sum(b => b.numel() * b.ElementSize),
            MeasuredPeakBytes = measured,
            MeasurementMethod = method,
            LiveTensors = live,
            InputShapes = inputShapes,
            OutputShapes = outputShapes,
            NeverRan = neverRan,
            Findings = findings,
            Failure = failure,
            TrainMode = options.TrainMode,
        };
    }

    /// <summary>The shapes the random inputs will have (with <see cref="SummaryOptions.BatchDim"/> inserted).</summary>
    private static List<long[]> FinalShapes(SummaryOptions options) => options.InputShapes.Select(sh =>
    {
        var l = sh.ToList();
        if (options.BatchDim is { } bd) l.Insert(bd, 1);
        return l.ToArray();
    }).ToList();

    /// <summary>Bytes of a tensor of <paramref name="shape"/> and <paramref name="dtype"/> (a double: sizes beyond 2^63 stay comparable).</summary>
    internal static double BytesOf(long[] shape, ScalarType dtype)
    {
        double n = 1;
        foreach (var d in shape) n *= d;
        int size = dtype switch
        {
            ScalarType.Float64 or ScalarType.Int64 or ScalarType.ComplexFloat32 => 8,
            ScalarType.Float32 or ScalarType.Int32 => 4,
            ScalarType.Float16 or ScalarType.BFloat16 or ScalarType.Int16 => 2,
            ScalarType.ComplexFloat64 => 16,
            _ => 1,
        };
        return n * size;
    }

    /// <summary>
    /// Memory before work: refuses (with <see cref="IO.MemoryBudgetException"/>) inputs whose bytes, or whose estimated
    /// forward+backward memory, exceed <see cref="SummaryOptions.MaxMemoryBytes"/> (default: the memory available now).
    /// The estimate is inputs + parameters ×3 (weights, gradients, a copy) + the activations of the forward pass ×2
    /// (kept for the backward, and their gradients); activations are measured by a no-grad pass at batch 1 and scaled
    /// by the batch when the inputs are large (over 16 MiB), else they are small enough to run.
    /// </summary>
    private static void CheckMemory(Module model, SummaryOptions options)
    {
        var shapes = FinalShapes(options);
        double input = 0;
        for (int i = 0; i < shapes.Count; i++)
        {
            var dtype = i < options.InputDTypes.Count ? options.InputDTypes[i] : ScalarType.Float32;
            input += BytesOf(shapes[i], dtype);
        }
        double parameters = model.parameters().Sum(p => (double)p.numel() * p.ElementSize);
        string what = $"the summary's inputs {string.Join(", ", shapes.Select(TensorInfo.FormatShape))}";
        IO.MemoryBudget.Require(input + parameters * 3, what, options.MaxMemoryBytes);
        if (input < 16 << 20) return;
        long batch = shapes[0].Length > 0 ? shapes[0][0] : 1;
        if (batch <= 1 || shapes.Any(s => s.Length == 0 || s[0] != batch)) return;
        // Activations of one sample, scaled by the batch.
        var probe = new SummaryOptions
        {
            InputShapes = shapes.Select(s => { var c = (long[])s.Clone(); c[0] = 1; return c; }).ToList(),
            InputDTypes = options.InputDTypes, Device = options.Device, Seed = options.Seed,
        };
        var tree = ModuleTree.Build(model);
        var recorder = new CallRecorder(tree);
        double perSample = 0;
        var rng = torch.get_rng_state();
        try
        {
            using var scope = torch.NewDisposeScope();
            using var noGrad = torch.no_grad();
            var inputs = MakeInputs(model, probe);
            using (ModuleHooks.Attach(tree.Nodes.Select(n => n.Module), recorder))
                ModelInvoker.Call(model, inputs.Cast<object?>().ToList());
            perSample = recorder.Calls.Where(c => c.Completed && c.Node.Children.Count == 0).Sum(c => (double)c.Outputs.Sum(o => o.Bytes));
        }
        catch (Exception e) when (e is not OutOfMemoryException and not TorchRuntimeUnavailableException)
        {
            return; // the real pass will fail and be explained
        }
        finally
        {
            torch.set_rng_state(rng);
            rng.Dispose();
        }
        IO.MemoryBudget.Require(input + parameters * 3 + perSample * batch * 2,
            $"one forward+backward pass at {string.Join(", ", shapes.Select(TensorInfo.FormatShape))} ({InputFileBytes(perSample)} of activations per sample × {batch:N0})", options.MaxMemoryBytes);
    }

    private static string InputFileBytes(double b) => IO.InputFile.Bytes(b);

    private static List<Tensor> MakeInputs(Module model, SummaryOptions options)
    {
        if (options.InputTensors is { Count: > 0 } given)
            return given.Select(t => t.alias()).ToList();
        if (options.InputShapes.Count == 0)
            throw new ArgumentException("No input: give SummaryOptions.InputShapes (e.g. [1, 3, 224, 224]) or InputTensors.");
        var device = options.Device ?? model.parameters().FirstOrDefault()?.device ?? torch.CPU;
        using var gen = new Generator((ulong)options.Seed);
        var list = new List<Tensor>();
        for (int i = 0; i < options.InputShapes.Count; i++)
        {
            var shape = options.InputShapes[i].ToList();
            if (shape.Any(d => d < 0)) throw new ArgumentException($"Input {i + 1} has a negative dimension: {TensorInfo.FormatShape(shape)}.");
            if (options.BatchDim is { } bd) shape.Insert(bd, 1);
            var dtype = i < options.InputDTypes.Count ? options.InputDTypes[i] : ScalarType.Float32;
            if (shape.Aggregate(1.0, (a, d) => a * d) > long.MaxValue / 16)
                throw new IO.MemoryBudgetException($"input {i + 1} {TensorInfo.FormatShape(shape)} has more elements than a tensor can hold; give a smaller shape.");
            var t = torch.is_floating_point(dtype)
                ? torch.rand(shape.ToArray(), dtype: dtype, device: device, generator: gen)
                : torch.zeros(shape.ToArray(), dtype: dtype, device: device);
            list.Add(t);
        }
        return list;
    }

    /// <summary>Sum of every floating output that needs a gradient (a scalar to differentiate), or null.</summary>
    internal static Tensor? LossOf(object? output)
    {
        Tensor? loss = null;
        foreach (var t in TensorInfo.Tensors(output))
        {
            if (!t.is_floating_point() || !t.requires_grad) continue;
            var s = t.sum().to(ScalarType.Float64);
            loss = loss is null ? s : loss + s;
        }
        return loss;
    }

    private static List<SummaryRow> BuildRows(ModuleTree tree, ParamKeys keys, CallRecorder recorder)
    {
        var rows = new List<SummaryRow>();
        var current = new Dictionary<int, ModuleNode>();
        var seenModules = new HashSet<ModuleNode>(ReferenceEqualityComparer.Instance);
        var seenParams = new HashSet<long>();
        foreach (var call in recorder.Calls)
        {
            var node = call.Node;
            // Insert containers that never ran themselves (ModuleList, ModuleDict) so the tree reads right.
            var ancestors = new List<ModuleNode>();
            for (var a = node.Parent; a is not null && a.Depth > 0; a = a.Parent) ancestors.Insert(0, a);
            foreach (var a in ancestors)
            {
                if (current.TryGetValue(a.Depth, out var cur) && ReferenceEquals(cur, a)) continue;
                rows.Add(MakeRow(a, null, keys, seenModules, seenParams));
                SetCurrent(current, a);
            }
            rows.Add(MakeRow(node, call, keys, seenModules, seenParams));
            SetCurrent(current, node);
            // TorchScript runs its submodules natively: list them (parameters, no shapes) under the call.
            if (node.Module is jit.ScriptModule && call.CallNumber == 1)
                foreach (var d in node.SelfAndDescendants().Skip(1))
                    rows.Add(MakeRow(d, null, keys, seenModules, seenParams));
        }
        // Depth index: a running counter per depth over the whole list (torchinfo).
        var idx = new Dictionary<int, int>();
        foreach (var r in rows)
        {
            idx[r.Depth] = idx.GetValueOrDefault(r.Depth) + 1;
            r.DepthIndex = idx[r.Depth];
        }
        // Leftover: parameters of a row not shown on any descendant row.
        for (int i = 0; i < rows.Count; i++)
        {
            var r = rows[i];
            if (r.IsLeaf) { r.LeftoverParams = 0; continue; }
            var covered = new HashSet<long>();
            for (int j = i + 1; j < rows.Count && rows[j].Depth > r.Depth; j++) covered.UnionWith(rows[j].ParamKeys);
            r.LeftoverParams = r.ParamKeys.Where(k => !covered.Contains(k)).Sum(k => keys.Numel(k));
        }
        return rows;
    }

    private static void SetCurrent(Dictionary<int, ModuleNode> current, ModuleNode n)
    {
        current[n.Depth] = n;
        foreach (var d in current.Keys.Where(d => d > n.Depth).ToList()) current.Remove(d);
    }

    private static SummaryRow MakeRow(ModuleNode node, ModuleCall? call, ParamKeys keys,
        HashSet<ModuleNode> seenModules, HashSet<long> seenParams)
    {
        var pk = keys.Under(node);
        var direct = keys.Direct(node);
        bool recursive = !seenModules.Add(node);
        bool newParam = false;
        foreach (var k in direct) newParam |= seenParams.Add(k);
        if (!newParam && direct.Count > 0 && direct.Sum(keys.Numel) > 0) recursive = true;
        var outs = call?.Outputs.Select(o => o.Shape).ToList() ?? [];
        var outBytes = call?.Outputs.FirstOrDefault()?.Bytes ?? 0;
        return new SummaryRow
        {
            Path = node.Path,
            Type = node.TypeName,
            Depth = node.Depth,
            InputShapes = call?.Inputs.Select(i => i.Shape).ToList() ?? [],
            OutputShapes = outs,
            OutputBytes = outBytes,
            Params = pk.Sum(keys.Numel),
            TrainableParams = pk.Where(keys.RequiresGrad).Sum(keys.Numel),
            MultAdds = node.Module is jit.ScriptModule ? null : call is { Completed: true } && outs.Count > 0 ? MultAdds.Of(node, outs[0]) : 0,
            KernelSize = KernelOf(node),
            IsLeaf = node.IsLeaf,
            Recursive = recursive,
            Ran = call is not null,
            Failed = call is { Completed: false },
            TimeMs = call?.Elapsed.TotalMilliseconds ?? 0,
            ParamKeys = pk,
            DirectParamKeys = direct,
            ModuleRef = node.Module,
        };
    }

    private static string? KernelOf(ModuleNode node)
    {
        var k = node.Configuration().FirstOrDefault(c => c.Name == "kernel_size");
        if (k.Name is null) return null;
        return "[" + k.Value.Trim('(', ')') + "]";
    }

    /// <summary>Lists modules that never ran, and reports bypassed hooks, unused modules and missing gradients.</summary>
    private static List<string> AnalyseCoverage(ModuleTree tree, ParamKeys keys, CallRecorder recorder, ModuleHooks hooks,
        HashSet<long> gotGrad, bool gradStepRan, bool failed, List<Finding> findings)
    {
        var ran = new HashSet<ModuleNode>(recorder.Calls.Select(c => c.Node), ReferenceEqualityComparer.Instance);
        var unhookable = new HashSet<object>(hooks.Unhookable, ReferenceEqualityComparer.Instance);
        var opaque = tree.Nodes.Where(n => n.Module is jit.ScriptModule && n.Children.Count > 0 && n.Parent is null or { Module: not jit.ScriptModule }).ToList();
        foreach (var o in opaque)
            findings.Add(Finding.Create(StructureCodes.OpaqueModule, o.DisplayPath,
                $"{o.DisplayPath} is TorchScript: its {o.Children.Count} children run inside TorchScript, so their shapes and mult-adds cannot be observed one by one; only the top-level call is measured.",
                "Nothing to fix. For per-layer rows, summarise the C# model this file was exported from."));
        bool InOpaque(ModuleNode n) => n.Parent is not null && (n.Parent.Module is jit.ScriptModule);
        bool AnyDescendantRan(ModuleNode n) => n.SelfAndDescendants().Skip(1).Any(ran.Contains);
        bool AnyGrad(ModuleNode n) => keys.Under(n).Any(gotGrad.Contains);

        var neverRan = new List<string>();
        var reported = new List<ModuleNode>();
        foreach (var n in tree.Nodes)
        {
            if (ran.Contains(n) || InOpaque(n)) continue;
            bool callable = !unhookable.Contains(n.Module);
            if (!callable && AnyDescendantRan(n)) continue;   // ModuleList/ModuleDict: containers are never called
            neverRan.Add(n.DisplayPath);
            if (failed || reported.Any(r => IsAncestor(r, n))) continue;
            if (callable && (AnyDescendantRan(n) || (gradStepRan && AnyGrad(n))))
            {
                reported.Add(n);
                var parent = n.Parent;
                var evidence = new Evidence
                {
                    ["hook calls"] = "0",
                    ["parameters with gradient"] = keys.Under(n).Count(gotGrad.Contains) + " of " + keys.Under(n).Count,
                    ["children that ran"] = EvidenceValue.Count(n.SelfAndDescendants().Skip(1).Count(ran.Contains)),
                };
                findings.Add(Finding.Create(StructureCodes.HookBypassed, n.DisplayPath,
                    $"{n.DisplayPath} ({n.TypeName}) took part in the forward pass but its hooks never fired: " +
                    $"{(parent is null ? "the caller" : $"its parent {parent.DisplayPath} ({parent.TypeName})")} calls {n.Name}.forward(x). " +
                    "Hooks (this summary, training probes, timing) cannot see it.",
                    $"In {(parent is null ? "the caller" : parent.TypeName + ".forward")}, replace `{n.Name}.forward(x)` with `{n.Name}.call(x)`.",
                    evidence));
            }
            else if (!AnyDescendantRan(n))
            {
                reported.Add(n);
                var pcount = keys.Under(n).Sum(keys.Numel);
                var f = Finding.Create(StructureCodes.UnusedModule, n.DisplayPath,
                    $"{n.DisplayPath} ({n.TypeName}) is registered but did not run in this forward pass" +
                    (pcount > 0 ? $", so its {pcount:N0} parameters get no gradient." : "."),
                    pcount > 0
                        ? $"Call it in forward (`{n.Name}.call(x)`), or remove it (and its parameters) from the model if it is not needed; if it only runs in training mode, summarise with --mode train."
                        : $"Call it in forward (`{n.Name}.call(x)`) or remove it; if forward uses the functional form instead, the module is dead weight.",
                    new Evidence { ["parameters"] = EvidenceValue.Count(pcount, grouped: true), ["hook calls"] = "0" });
                findings.Add(pcount > 0 ? f : f with { Severity = Severity.Info });
            }
        }

        if (gradStepRan && !failed)
        {
            foreach (var n in tree.Nodes.Where(ran.Contains))
            {
                var missing = n.DirectParameters.Where(p => p.Parameter.requires_grad && !gotGrad.Contains(keys.KeyOf(p.Parameter))).ToList();
                if (missing.Count == 0) continue;
                findings.Add(Finding.Create(StructureCodes.NoGradient, n.DisplayPath,
                    $"{n.DisplayPath} ({n.TypeName}) ran, but {string.Join(", ", missing.Select(m => m.Name))} received no gradient from the output.",
                    "Check forward for .detach(), torch.no_grad(), integer casts or outputs that are computed but not returned; if the parameter is meant to be frozen, set requires_grad = false.",
                    new Evidence { ["parameters without gradient"] = string.Join(", ", missing.Select(m => m.Name)) }));
            }
        }

        foreach (var group in keys.SharedGroups())
            findings.Add(Finding.Create(StructureCodes.SharedParameter, group[0],
                $"One parameter tensor is registered as {string.Join(" and ", group)}; it is counted once in the totals.",
                "Nothing to fix if the weights are meant to be tied.",
                new Evidence { ["names"] = string.Join(", ", group) }));
        foreach (var c in recorder.Calls.Where(c => c.CallNumber == 2 && c.Node.DirectParameters.Count > 0))
            findings.Add(Finding.Create(StructureCodes.RecursiveModule, c.Node.DisplayPath,
                $"{c.Node.DisplayPath} ({c.Node.TypeName}) ran {recorder.Calls.Count(x => ReferenceEquals(x.Node, c.Node))} times in one pass; its parameters are counted once and later rows are marked (recursive).",
                "Nothing to fix if the module is meant to be reused (shared weights).",
                new Evidence { ["calls"] = EvidenceValue.Count(recorder.Calls.Count(x => ReferenceEquals(x.Node, c.Node))) }));
        return neverRan;
    }

    private static bool IsAncestor(ModuleNode a, ModuleNode n)
    {
        for (var p = n.Parent; p is not null; p = p.Parent) if (ReferenceEquals(p, a)) return true;
        return false;
    }

    /// <summary>
    /// Peak memory of one forward+backward step, without hooks: free memory is returned to the OS
    /// (malloc_trim), the kernel's peak-RSS mark is reset (/proc/self/clear_refs), the step runs, and
    /// the new peak minus the RSS before is the measurement.
    /// </summary>
    private static (long?, string?, (long, long)?) MeasureStep(Module model, ParamKeys keys, SummaryOptions options)
    {
        GC.Collect();
        GC.WaitForPendingFinalizers();
        NativeMemory.Trim();
        long liveBefore = torch.Tensor.TotalCount;
        long before = ProcessMemory.ResidentBytes();
        bool reset = ProcessMemory.TryResetPeak();
        using (var scope = torch.NewDisposeScope())
        using (torch.enable_grad())
        {
            var inputs = MakeInputs(model, options);
            var output = ModelInvoker.Call(model, inputs.Cast<object?>().ToList());
            var trainable = keys.Unique.Where(p => p.Parameter.requires_grad).Select(p => (Tensor)p.Parameter).ToList();
            var loss = LossOf(output);
            if (loss is not null && trainable.Count > 0)
                torch.autograd.grad([loss], trainable, allow_unused: true);
        }
        long peak = ProcessMemory.PeakResidentBytes();
        long liveAfter = torch.Tensor.TotalCount;
        if (!reset)
            return (null, "not measured: this OS gives no resettable peak-RSS counter", (liveBefore, liveAfter));
        return (Math.Max(0, peak - before),
            "peak RSS (VmHWM, reset via /proc/self/clear_refs) minus RSS before one unhooked forward+backward step, after malloc_trim",
            (liveBefore, liveAfter));
    }

    private static List<(Tensor Buffer, Tensor Copy)> SnapshotBuffers(Module model)
    {
        using var _ = torch.no_grad();
        return model.buffers().Select(b => (b, b.clone().DetachFromDisposeScope())).ToList();
    }

    private static void RestoreBuffers(List<(Tensor Buffer, Tensor Copy)> saved)
    {
        using var _ = torch.no_grad();
        foreach (var (b, c) in saved)
        {
            b.copy_(c);
            c.Dispose();
        }
    }
}

/// <summary>glibc's malloc_trim, to hand freed memory back to the OS before a measurement.</summary>
internal static class NativeMemory
{
    [DllImport("libc", EntryPoint = "malloc_trim")]
    private static extern int MallocTrim(nuint pad);

    public static void Trim()
    {
        if (!OperatingSystem.IsLinux()) return;
        try { MallocTrim(0); } catch (Exception e) when (e is DllNotFoundException or EntryPointNotFoundException) { }
    }
}
