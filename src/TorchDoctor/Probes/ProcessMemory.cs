namespace TorchDoctor.Probes;

/// <summary>
/// Reads the process's resident memory from the OS. On Linux the peak (VmHWM) can be reset through
/// <c>/proc/self/clear_refs</c>, so the peak of one step can be measured; elsewhere the managed
/// <see cref="Environment.WorkingSet"/> and the process's peak working set are used.
/// </summary>
public static class ProcessMemory
{
    /// <summary>Current resident set size in bytes.</summary>
    public static long ResidentBytes()
    {
        var v = ReadStatusKb("VmRSS:");
        return v >= 0 ? v * 1024 : Environment.WorkingSet;
    }

    /// <summary>Peak resident set size in bytes since start or since the last <see cref="TryResetPeak"/>.</summary>
    public static long PeakResidentBytes()
    {
        var v = ReadStatusKb("VmHWM:");
        if (v >= 0) return v * 1024;
        using var p = System.Diagnostics.Process.GetCurrentProcess();
        return p.PeakWorkingSet64;
    }

    /// <summary>Resets the peak to the current RSS (Linux, writes 5 to /proc/self/clear_refs). True on success.</summary>
    public static bool TryResetPeak()
    {
        try
        {
            if (!OperatingSystem.IsLinux()) return false;
            File.WriteAllText("/proc/self/clear_refs", "5");
            return true;
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException)
        {
            return false;
        }
    }

    private static long ReadStatusKb(string key)
    {
        if (!OperatingSystem.IsLinux()) return -1;
        try
        {
            foreach (var line in File.ReadLines("/proc/self/status"))
                if (line.StartsWith(key, StringComparison.Ordinal))
                    return long.Parse(line[key.Length..].Trim().Split(' ')[0], System.Globalization.CultureInfo.InvariantCulture);
        }
        catch (IOException) { }
        return -1;
    }
}
