using System.Runtime.InteropServices;

namespace TorchDoctor.Probes;

/// <summary>
/// Bytes of native memory in use, as the C allocator counts them. libtorch's CPU tensors are allocated through
/// glibc's malloc, so on Linux <c>mallinfo2()</c> (allocated chunks plus mmapped blocks, over every arena) is an exact
/// count of live native bytes, unlike the resident set size, which keeps freed pages the allocator caches. Reading it
/// costs 0.02–0.8 ms (it walks the arenas' free lists), so callers sample it rather than read it every step.
/// Elsewhere (or without glibc ≥ 2.33) the resident set size stands in.
/// </summary>
public static class NativeMemory
{
    private static bool? _exact;

    /// <summary>True when <see cref="InUseBytes"/> is the allocator's exact count (glibc), false when it is the RSS.</summary>
    public static bool IsExact => _exact ??= TryMallinfo(out _);

    /// <summary>Native bytes in use now (allocator count on glibc, else the resident set size).</summary>
    public static long InUseBytes()
    {
        if (_exact != false && TryMallinfo(out var bytes))
        {
            _exact = true;
            return bytes;
        }
        _exact = false;
        return ProcessMemory.ResidentBytes();
    }

    /// <summary>
    /// Native bytes in use after a full collection (collect, wait for finalizers, collect): what the program still
    /// references, without the tensors waiting for their finalizers. Costs a full garbage collection.
    /// </summary>
    public static long InUseBytesAfterCollection()
    {
        GC.Collect();
        GC.WaitForPendingFinalizers();
        GC.Collect();
        return InUseBytes();
    }

    private static bool TryMallinfo(out long bytes)
    {
        bytes = 0;
        if (!OperatingSystem.IsLinux()) return false;
        try
        {
            var m = mallinfo2();
            bytes = (long)(m.uordblks + m.hblkhd);
            return bytes > 0;
        }
        catch (Exception e) when (e is DllNotFoundException or EntryPointNotFoundException)
        {
            return false;
        }
    }

    [StructLayout(LayoutKind.Sequential)]
    private struct MallInfo2
    {
        public nuint arena, ordblks, smblks, hblks, hblkhd, usmblks, fsmblks, uordblks, fordblks, keepcost;
    }

    [DllImport("libc", EntryPoint = "mallinfo2")]
    [DefaultDllImportSearchPaths(DllImportSearchPath.SafeDirectories)]
    private static extern MallInfo2 mallinfo2();
}
