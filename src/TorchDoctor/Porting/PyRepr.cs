using System.Globalization;
using System.Text;

namespace TorchDoctor.Porting;

/// <summary>Formats values the way Python's <c>repr</c>/<c>str</c> does, so printed arguments match PyTorch's text.</summary>
public static class PyRepr
{
    /// <summary>Python's <c>repr(float)</c>: <c>1e-05</c>, <c>0.1</c>, <c>2.0</c>, <c>1e+16</c>, <c>inf</c>, <c>nan</c>.</summary>
    public static string Float(double value)
    {
        if (double.IsNaN(value)) return "nan";
        if (double.IsPositiveInfinity(value)) return "inf";
        if (double.IsNegativeInfinity(value)) return "-inf";
        if (value == 0) return double.IsNegative(value) ? "-0.0" : "0.0";
        var sign = value < 0 ? "-" : "";
        // Shortest round-trip digits, as Python's repr uses; then Python's layout rules.
        var r = Math.Abs(value).ToString("R", CultureInfo.InvariantCulture);
        int exp = 0;
        var e = r.IndexOfAny(['E', 'e']);
        if (e >= 0)
        {
            exp = int.Parse(r[(e + 1)..], NumberStyles.AllowLeadingSign, CultureInfo.InvariantCulture);
            r = r[..e];
        }
        var dot = r.IndexOf('.');
        var intPart = dot < 0 ? r : r[..dot];
        var fracPart = dot < 0 ? "" : r[(dot + 1)..];
        var digits = (intPart + fracPart).TrimStart('0');
        // decpt: value = 0.d1d2... × 10^decpt
        int leadingZeros = (intPart + fracPart).Length - (intPart + fracPart).TrimStart('0').Length;
        int decpt = intPart.Length - leadingZeros + exp;
        digits = digits.TrimEnd('0');
        if (digits.Length == 0) return sign + "0.0";
        if (decpt <= -4 || decpt > 16)
        {
            var mant = digits.Length == 1 ? digits : digits[0] + "." + digits[1..];
            int x = decpt - 1;
            return sign + mant + "e" + (x < 0 ? "-" : "+") + Math.Abs(x).ToString("00", CultureInfo.InvariantCulture);
        }
        if (decpt <= 0) return sign + "0." + new string('0', -decpt) + digits;
        if (decpt >= digits.Length) return sign + digits + new string('0', decpt - digits.Length) + ".0";
        return sign + digits[..decpt] + "." + digits[decpt..];
    }

    /// <summary>Python's <c>True</c>/<c>False</c>.</summary>
    public static string Bool(bool value) => value ? "True" : "False";

    /// <summary>An integer.</summary>
    public static string Int(long value) => value.ToString(CultureInfo.InvariantCulture);

    /// <summary>A Python tuple of integers: <c>(3, 3)</c>, <c>(3,)</c>, <c>()</c>.</summary>
    public static string Tuple(IReadOnlyList<long> values)
        => values.Count == 1 ? "(" + Int(values[0]) + ",)" : "(" + string.Join(", ", values.Select(Int)) + ")";

    /// <summary>A Python tuple of floats: <c>(2.0, 2.0)</c>.</summary>
    public static string Tuple(IReadOnlyList<double> values)
        => values.Count == 1 ? "(" + Float(values[0]) + ",)" : "(" + string.Join(", ", values.Select(Float)) + ")";

    /// <summary>
    /// How PyTorch prints a size argument it stored as the user gave it (pooling layers): a single integer
    /// when every element is the same, else the tuple. TorchSharp keeps only the expanded tuple, so
    /// <c>MaxPool2d(2)</c> and <c>MaxPool2d((2, 2))</c> cannot be told apart; the structural diff treats both as equal.
    /// </summary>
    public static string Compact(IReadOnlyList<long> values)
        => values.Count > 0 && values.All(v => v == values[0]) ? Int(values[0]) : Tuple(values);

    /// <summary>A quoted Python string: <c>'none'</c>.</summary>
    public static string Str(string value)
    {
        var sb = new StringBuilder("'");
        foreach (var c in value) sb.Append(c is '\'' or '\\' ? "\\" + c : c.ToString());
        return sb.Append('\'').ToString();
    }
}
