using System.Globalization;

namespace TorchDoctor.IO;

/// <summary>Thrown before work starts when it would need more memory than the budget allows.</summary>
public sealed class MemoryBudgetException(string message) : Exception(message);

/// <summary>
/// "Memory before work": what the machine can give (Linux <c>/proc/meminfo</c> MemAvailable, elsewhere the .NET
/// runtime's view of available memory) and a check that refuses a request whose estimate exceeds it, naming the
/// estimate and the option that overrides it.
/// </summary>
public static class MemoryBudget
{
    /// <summary>Bytes available to a new allocation now (MemAvailable on Linux; the GC's view of total available memory elsewhere).</summary>
    public static long Available()
    {
        try
        {
            if (OperatingSystem.IsLinux() && File.Exists("/proc/meminfo"))
                foreach (var line in File.ReadLines("/proc/meminfo"))
                    if (line.StartsWith("MemAvailable:", StringComparison.Ordinal))
                    {
                        var parts = line.Split(' ', StringSplitOptions.RemoveEmptyEntries);
                        if (parts.Length >= 2 && long.TryParse(parts[1], NumberStyles.None, CultureInfo.InvariantCulture, out var kb)) return kb * 1024;
                    }
        }
        catch (IOException) { }
        catch (UnauthorizedAccessException) { }
        var gc = GC.GetGCMemoryInfo();
        return Math.Max(0, gc.TotalAvailableMemoryBytes - gc.MemoryLoadBytes);
    }

    /// <summary>
    /// Throws <see cref="MemoryBudgetException"/> when <paramref name="estimate"/> bytes exceed <paramref name="limit"/>
    /// (default: <see cref="Available"/>). <paramref name="what"/> names the work ("the forward+backward pass of resnet18 at [64, 3, 224, 224]").
    /// </summary>
    public static void Require(double estimate, string what, long? limit = null, string option = "--max-memory")
    {
        long budget = limit ?? Available();
        if (double.IsNaN(estimate) || estimate <= budget) return;
        var source = limit is null ? "available memory (MemAvailable)" : "the limit " + option;
        throw new MemoryBudgetException($"{what} needs about {InputFile.Bytes(estimate)}; {source} is {InputFile.Bytes(budget)}. " +
            $"Use a smaller input or batch, or raise the limit with {option} <bytes, e.g. 64G> if the machine has the memory.");
    }

    /// <summary>Parses a size such as <c>512M</c>, <c>8G</c>, <c>1.5GiB</c> or a plain byte count; null when not a size.</summary>
    public static long? ParseSize(string text)
    {
        var t = text.Trim().ToUpperInvariant().Replace("IB", "", StringComparison.Ordinal).TrimEnd('B');
        double mult = 1;
        if (t.Length > 0 && "KMGT".Contains(t[^1], StringComparison.Ordinal))
        {
            mult = Math.Pow(1024, "KMGT".IndexOf(t[^1], StringComparison.Ordinal) + 1);
            t = t[..^1];
        }
        if (!double.TryParse(t, NumberStyles.Float, CultureInfo.InvariantCulture, out var v) || !double.IsFinite(v) || v <= 0) return null;
        var bytes = v * mult;
        return bytes >= long.MaxValue ? long.MaxValue : (long)bytes;
    }
}
