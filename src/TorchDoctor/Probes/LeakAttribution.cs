using System.Diagnostics;
using System.Globalization;
using System.Reflection;
using System.Reflection.Emit;
using System.Reflection.Metadata;
using System.Reflection.Metadata.Ecma335;
using Microsoft.Diagnostics.Runtime;
using TorchDoctor.Findings;

namespace TorchDoctor.Probes;

/// <summary>
/// Who holds the tensors that survive collection: a field of a program type or a local of a running method.
/// </summary>
/// <param name="Holder">The holding type (e.g. <c>MyApp.Trainer</c>) or, for a local, the method (<c>MyApp.Program.Main</c>).</param>
/// <param name="Member">The field name, or <c>local</c>.</param>
/// <param name="Path">How the tensors hang off the holder, e.g. <c>List&lt;Tensor&gt;</c>.</param>
/// <param name="Tensors">Live (not disposed) tensors reachable from it through collections only.</param>
/// <param name="Source">The source line that stores into the member (file:line) when the PDB allows, else null.</param>
public sealed record TensorHolder(string Holder, string Member, string Path, int Tensors, string? Source);

/// <summary>
/// Deep leak attribution from a heap snapshot of this process. TorchSharp has no hook when a tensor is created, so
/// instead of tracking allocations this names what keeps tensors alive: it writes a heap dump of the process with the
/// runtime's own <c>createdump</c>, opens it with ClrMD (<c>Microsoft.Diagnostics.Runtime</c>), walks from every live
/// <c>Tensor</c> up through collections (arrays, lists, dictionaries) to the first program type or stack root, and
/// reads the program's portable PDB to find the line that stores into that member. Costs seconds and a temporary file
/// the size of the process; used once, when a leak has been found.
/// </summary>
public sealed class LeakAttribution
{
    private const string TensorType = "TorchSharp.torch+Tensor";

    /// <summary>Holders of live tensors, most tensors first.</summary>
    public IReadOnlyList<TensorHolder> Holders { get; private init; } = [];
    /// <summary>Live tensors in the snapshot.</summary>
    public int LiveTensors { get; private init; }
    /// <summary>Time the snapshot and the walk took.</summary>
    public TimeSpan Elapsed { get; private init; }
    /// <summary>Why attribution was not possible (no createdump, no ptrace permission, no DAC), or null.</summary>
    public string? Error { get; private init; }

    /// <summary>Takes the snapshot and names the holders.</summary>
    public static LeakAttribution Capture()
    {
        var sw = Stopwatch.StartNew();
        var dir = System.Runtime.InteropServices.RuntimeEnvironment.GetRuntimeDirectory();
        var createdump = Path.Combine(dir, OperatingSystem.IsWindows() ? "createdump.exe" : "createdump");
        var dac = Path.Combine(dir, OperatingSystem.IsWindows() ? "mscordaccore.dll" : OperatingSystem.IsMacOS() ? "libmscordaccore.dylib" : "libmscordaccore.so");
        if (!File.Exists(createdump) || !File.Exists(dac))
            return new LeakAttribution { Error = $"the runtime's createdump or DAC is missing in {dir}", Elapsed = sw.Elapsed };
        var dump = Path.Combine(Path.GetTempPath(), $"torchdoctor-{Environment.ProcessId}-{Guid.NewGuid():N}.dmp");
        try
        {
            GC.Collect();
            GC.WaitForPendingFinalizers();
            GC.Collect();
            var psi = new ProcessStartInfo(createdump) { RedirectStandardOutput = true, RedirectStandardError = true, UseShellExecute = false };
            foreach (var a in new[] { "--withheap", "-f", dump, Environment.ProcessId.ToString(CultureInfo.InvariantCulture) }) psi.ArgumentList.Add(a);
            using (var p = Process.Start(psi)!)
            {
                var err = p.StandardError.ReadToEndAsync();
                var output = p.StandardOutput.ReadToEnd();
                p.WaitForExit();
                if (p.ExitCode != 0 || !File.Exists(dump))
                    return new LeakAttribution { Error = $"createdump failed ({p.ExitCode}): {(err.Result + output).Trim().Split('\n').LastOrDefault()}", Elapsed = sw.Elapsed };
            }
            using var target = DataTarget.LoadDump(dump);
            using var runtime = target.ClrVersions[0].CreateRuntime(dac, ignoreMismatch: true);
            var (holders, live) = Walk(runtime);
            return new LeakAttribution { Holders = holders, LiveTensors = live, Elapsed = sw.Elapsed };
        }
        catch (Exception e) when (e is IOException or InvalidOperationException or ClrDiagnosticsException or System.ComponentModel.Win32Exception or UnauthorizedAccessException or FileNotFoundException)
        {
            return new LeakAttribution { Error = e.Message.Split('\n')[0], Elapsed = sw.Elapsed };
        }
        finally
        {
            try { File.Delete(dump); } catch (IOException) { }
        }
    }

    // Type-name prefixes of code that holds tensors on the user's behalf (the doctor's own namespaces are built from the
    // root namespace so that they read as data, not as references to those folders).
    private static readonly string[] FrameworkPrefixes =
    [
        "System.", "Microsoft.", "TorchSharp.", "Internal.", "Xunit.",
        .. new[] { "Probes", "Training", "Observations" }.Select(folder => nameof(TorchDoctor) + "." + folder + "."),
    ];

    private static bool IsFramework(string? name)
        => name is null || FrameworkPrefixes.Any(p => name.StartsWith(p, StringComparison.Ordinal));

    private static bool IsCollection(ClrType t)
        => t.IsArray || (t.Name ?? "").StartsWith("System.Collections.", StringComparison.Ordinal) || (t.Name ?? "").StartsWith("System.ValueTuple", StringComparison.Ordinal) ||
           (t.Name ?? "").StartsWith("System.Tuple", StringComparison.Ordinal);

    private static (List<TensorHolder>, int) Walk(ClrRuntime runtime)
    {
        var heap = runtime.Heap;
        var referrers = new Dictionary<ulong, List<ulong>>();
        var tensors = new List<ulong>();
        foreach (var o in heap.EnumerateObjects())
        {
            if (o.Type is null) continue;
            if (o.Type.Name == TensorType && o.ReadField<nint>("handle") != 0) tensors.Add(o.Address);
            foreach (var r in o.EnumerateReferences(carefully: false, considerDependantHandles: false))
            {
                if (!referrers.TryGetValue(r.Address, out var list)) referrers[r.Address] = list = [];
                if (list.Count < 8) list.Add(o.Address);
            }
        }
        var stackRoots = new Dictionary<ulong, string>();
        foreach (var root in heap.EnumerateRoots())
            if (root.RootKind == ClrRootKind.Stack && root is ClrStackRoot { StackFrame.Method: { } m } && !stackRoots.ContainsKey(root.Object.Address))
                stackRoots[root.Object.Address] = $"{m.Type?.Name}.{m.Name}";

        var counts = new Dictionary<(string Holder, string Member, string Path), int>();
        foreach (var t in tensors)
        {
            // Breadth-first up through collections to the first program type or stack root.
            var seen = new HashSet<ulong> { t };
            var queue = new Queue<(ulong Addr, string Path)>();
            queue.Enqueue((t, ""));
            (string, string, string)? found = null;
            while (queue.Count > 0 && found is null && seen.Count < 64)
            {
                var (addr, path) = queue.Dequeue();
                if (stackRoots.TryGetValue(addr, out var method) && !IsFramework(method)) { found = (method, "local", path); break; }
                if (!referrers.TryGetValue(addr, out var refs)) continue;
                foreach (var r in refs)
                {
                    if (!seen.Add(r)) continue;
                    var ro = heap.GetObject(r);
                    var type = ro.Type;
                    if (type is null) continue;
                    if (!IsFramework(type.Name) && !IsModule(type))
                    {
                        var field = type.Fields.FirstOrDefault(f => f.IsObjectReference && f.ReadObject(r, interior: false).Address == addr);
                        found = (type.Name!, field?.Name ?? "?", path);
                        break;
                    }
                    if (IsCollection(type)) queue.Enqueue((r, path.Length == 0 ? Short(type.Name) : path + " in " + Short(type.Name)));
                }
            }
            if (found is { } f) counts[f] = counts.GetValueOrDefault(f) + 1;
        }
        var holders = counts.OrderByDescending(kv => kv.Value)
            .Select(kv => new TensorHolder(kv.Key.Holder, kv.Key.Member, kv.Key.Path, kv.Value, SourceOf(kv.Key.Holder, kv.Key.Member)))
            .ToList();
        return (holders, tensors.Count);
    }

    private static bool IsModule(ClrType t)
    {
        for (var b = t; b is not null; b = b.BaseType)
            if (b.Name is { } n && n.StartsWith("TorchSharp.torch+nn+Module", StringComparison.Ordinal)) return true;
        return false;
    }

    private static string Short(string? typeName)
    {
        if (typeName is null) return "?";
        var s = typeName.Replace("TorchSharp.torch+Tensor", "Tensor", StringComparison.Ordinal).Replace("System.Collections.Generic.", "", StringComparison.Ordinal);
        return s.Replace("System.", "", StringComparison.Ordinal);
    }

    // ---- source lines from portable PDBs ----

    private static readonly HashSet<string> StoreCalls = ["Add", "Push", "Enqueue", "Insert", "AddRange", "set_Item", "Append"];

    /// <summary>
    /// The source line (file:line) that stores into <paramref name="member"/> of <paramref name="holder"/>: for a field, the
    /// first IL that loads the field and then calls Add/Push/Enqueue/Insert on it, or assigns it from an expression; for a local,
    /// the first call in the method that adds a Tensor to a collection. Null when the type, its IL or its PDB cannot be read.
    /// </summary>
    internal static string? SourceOf(string holder, string member)
    {
        try
        {
            if (member == "local")
            {
                int dot = holder.LastIndexOf('.');
                var type = FindType(holder[..dot]);
                var methods = type?.GetMethods(BindingFlags.Public | BindingFlags.NonPublic | BindingFlags.Static | BindingFlags.Instance | BindingFlags.DeclaredOnly)
                    .Where(m => m.Name == holder[(dot + 1)..]) ?? [];
                foreach (var m in methods)
                    if (FirstStore(m, null) is { } off && Line(m, off) is { } line) return line;
                return null;
            }
            var t = FindType(holder);
            if (t is null) return null;
            var field = t.GetField(member, BindingFlags.Public | BindingFlags.NonPublic | BindingFlags.Instance | BindingFlags.Static);
            if (field is null) return null;
            foreach (var m in t.GetMethods(BindingFlags.Public | BindingFlags.NonPublic | BindingFlags.Static | BindingFlags.Instance | BindingFlags.DeclaredOnly)
                         .Cast<MethodBase>().Concat(t.GetConstructors(BindingFlags.Public | BindingFlags.NonPublic | BindingFlags.Instance)))
                if (FirstStore(m, field) is { } off && Line(m, off) is { } line) return line;
        }
        catch (Exception e) when (e is BadImageFormatException or IOException or ArgumentException or InvalidOperationException or NotSupportedException) { }
        return null;
    }

    private static Type? FindType(string clrName)
    {
        var name = clrName.Replace('+', '+');
        foreach (var a in AppDomain.CurrentDomain.GetAssemblies())
            if (!a.IsDynamic && a.GetType(name, throwOnError: false) is { } t) return t;
        return null;
    }

    private static readonly Dictionary<short, OpCode> OpCodes = typeof(OpCodes).GetFields(BindingFlags.Public | BindingFlags.Static)
        .Select(f => (OpCode)f.GetValue(null)!).ToDictionary(o => o.Value);

    /// <summary>IL offset of the first store into <paramref name="field"/> (or, when null, of the first Tensor-collection Add).</summary>
    private static int? FirstStore(MethodBase method, FieldInfo? field)
    {
        var il = method.GetMethodBody()?.GetILAsByteArray();
        if (il is null) return null;
        int i = 0;
        int? loadedAt = null;
        while (i < il.Length)
        {
            int start = i;
            short value = il[i] == 0xFE && i + 1 < il.Length ? (short)(0xFE00 | il[i + 1]) : il[i];
            if (!OpCodes.TryGetValue(value, out var op)) return null;
            i += op.Size;
            int operandSize = op.OperandType switch
            {
                OperandType.InlineNone => 0,
                OperandType.ShortInlineBrTarget or OperandType.ShortInlineI or OperandType.ShortInlineVar => 1,
                OperandType.InlineVar => 2,
                OperandType.InlineI8 or OperandType.InlineR => 8,
                OperandType.InlineSwitch => 4 + 4 * BitConverter.ToInt32(il, i),
                _ => 4,
            };
            int token = operandSize == 4 ? BitConverter.ToInt32(il, i) : 0;
            i += operandSize;
            if (op.OperandType == OperandType.InlineField && field is not null)
            {
                var f = SafeResolveField(method, token);
                if (f is not null && f.Name == field.Name && f.DeclaringType == field.DeclaringType)
                {
                    if (op == System.Reflection.Emit.OpCodes.Stfld || op == System.Reflection.Emit.OpCodes.Stsfld)
                    {
                        if (!method.IsConstructor) return loadedAt ?? start;
                    }
                    else loadedAt = start;
                }
            }
            else if (op.OperandType == OperandType.InlineMethod && (op == System.Reflection.Emit.OpCodes.Callvirt || op == System.Reflection.Emit.OpCodes.Call))
            {
                var m = SafeResolveMethod(method, token);
                if (m is null || !StoreCalls.Contains(m.Name)) continue;
                bool tensorCollection = m.DeclaringType?.GetGenericArguments().Any(g => g.FullName == "TorchSharp.torch+Tensor") ?? false;
                if (field is not null && loadedAt is { } at) return at;
                if (field is null && tensorCollection) return start;
            }
        }
        return null;
    }

    private static FieldInfo? SafeResolveField(MethodBase m, int token)
    {
        try { return m.Module.ResolveField(token, m.DeclaringType?.GetGenericArguments(), m.IsGenericMethod ? m.GetGenericArguments() : null); }
        catch (ArgumentException) { return null; }
    }

    private static MethodBase? SafeResolveMethod(MethodBase m, int token)
    {
        try { return m.Module.ResolveMethod(token, m.DeclaringType?.GetGenericArguments(), m.IsGenericMethod ? m.GetGenericArguments() : null); }
        catch (ArgumentException) { return null; }
    }

    /// <summary>file:line of the sequence point covering <paramref name="ilOffset"/> in <paramref name="method"/>, from the portable PDB next to its assembly.</summary>
    private static string? Line(MethodBase method, int ilOffset)
    {
        var asmPath = method.Module.Assembly.Location;
        if (string.IsNullOrEmpty(asmPath)) return null;
        var pdb = Path.ChangeExtension(asmPath, ".pdb");
        if (!File.Exists(pdb)) return null;
        using var stream = File.OpenRead(pdb);
        using var provider = MetadataReaderProvider.FromPortablePdbStream(stream);
        var reader = provider.GetMetadataReader();
        var handle = MetadataTokens.MethodDefinitionHandle(method.MetadataToken & 0xFFFFFF);
        var info = reader.GetMethodDebugInformation(handle.ToDebugInformationHandle());
        SequencePoint? best = null;
        foreach (var sp in info.GetSequencePoints())
        {
            if (sp.IsHidden) continue;
            if (sp.Offset <= ilOffset) best = sp;
            else break;
        }
        if (best is not { } b) return null;
        var doc = reader.GetString(reader.GetDocument(b.Document).Name);
        return $"{doc}:{b.StartLine}";
    }

    /// <summary>The finding with the holders added to its evidence and its advice pointed at the first one.</summary>
    public Finding Enrich(Finding finding)
    {
        ArgumentNullException.ThrowIfNull(finding);
        var evidence = Evidence.Empty.WithMissing(finding.Evidence);
        if (Error is not null)
        {
            evidence["attribution"] = "not possible: " + Error;
            return finding with { Evidence = evidence };
        }
        evidence["heap snapshot"] = $"{LiveTensors} live tensors, {Elapsed.TotalSeconds:F1} s";
        int k = 0;
        foreach (var h in Holders.Take(5))
            evidence[$"holder {++k}"] = Describe(h);
        var top = Holders.FirstOrDefault();
        if (top is null) return finding with { Evidence = evidence };
        const string ask = "Find what holds them: attach with `DoctorOptions.LeakAttribution = true` to name the field or local and the source line. ";
        return finding with
        {
            Message = finding.Message + $" Held by {Describe(top)}.",
            Evidence = evidence,
            Advice = (top.Source is null ? $"Look at what fills {Describe(top)}. " : $"Fix the store at {top.Source}. ") + finding.Advice.Replace(ask, "", StringComparison.Ordinal),
        };
    }

    private static string Describe(TensorHolder h)
        => (h.Member == "local" ? $"a local of {h.Holder}" : $"{h.Holder}.{h.Member}") +
           (h.Path.Length > 0 ? $" ({h.Path})" : "") + $": {h.Tensors} tensor(s)" + (h.Source is null ? "" : $", stored at {h.Source}");
}
