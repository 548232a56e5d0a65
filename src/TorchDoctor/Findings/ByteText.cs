using System.Globalization;

namespace TorchDoctor.Findings;

/// <summary>Byte counts as people read them in messages and tables (binary units, invariant culture).</summary>
public static class ByteText
{
    /// <summary><paramref name="b"/> bytes as e.g. <c>12.3 KB</c>, <c>1.5 MB</c> (1 KB = 1,024 bytes).</summary>
    public static string Format(double b)
    {
        double a = Math.Abs(b);
        return a >= 1 << 30 ? (b / (1 << 30)).ToString("0.##", CultureInfo.InvariantCulture) + " GB"
             : a >= 1 << 20 ? (b / (1 << 20)).ToString("0.##", CultureInfo.InvariantCulture) + " MB"
             : a >= 1 << 10 ? (b / (1 << 10)).ToString("0.#", CultureInfo.InvariantCulture) + " KB"
             : b.ToString("0", CultureInfo.InvariantCulture) + " B";
    }
}
