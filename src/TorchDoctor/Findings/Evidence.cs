using System.Collections;
using System.Globalization;

namespace TorchDoctor.Findings;

/// <summary>What an evidence number measures: how exporters label it (JSON keeps the raw number, text the formatted one).</summary>
public enum EvidenceUnit
{
    /// <summary>A plain quantity (a norm, a value, a factor).</summary>
    None,
    /// <summary>A count of things (samples, values, modules, parameters).</summary>
    Count,
    /// <summary>A fraction in [0, 1], shown as a percentage in text ("12.3%"); JSON keeps the fraction (0.123).</summary>
    Fraction,
    /// <summary>A ratio of two like quantities (e.g. ‖Δw‖/‖w‖, ‖g_first‖/‖g_last‖).</summary>
    Ratio,
    /// <summary>Bytes.</summary>
    Bytes,
    /// <summary>Seconds.</summary>
    Seconds,
    /// <summary>Text: a name, a list or a composite value with no single number.</summary>
    Text,
}

/// <summary>
/// One piece of evidence: a number with its unit and display format, or a text. Text output shows
/// <see cref="Text"/> ("12.3%"); JSON output writes <see cref="Number"/> as a JSON number (0.123) when it is finite,
/// and the text otherwise (BenchmarkDotNet's <c>Metric</c> + descriptor: data first, text last).
/// </summary>
public readonly record struct EvidenceValue
{
    /// <summary>Format name for <see cref="Compact"/>: 4 significant decimals, scientific below 1e-3 and from 1e4.</summary>
    public const string CompactFormat = "compact";

    private readonly string? _text;

    private EvidenceValue(double? number, EvidenceUnit unit, string? format, string? text)
    {
        Number = number;
        Unit = unit;
        Format = format;
        _text = text;
    }

    /// <summary>The measured number, or null for a text-only value.</summary>
    public double? Number { get; }
    /// <summary>What the number measures.</summary>
    public EvidenceUnit Unit { get; }
    /// <summary>.NET numeric format string (invariant culture) or <see cref="CompactFormat"/>; null for text.</summary>
    public string? Format { get; }

    /// <summary>The value as text: the number in its format, or the text itself.</summary>
    public string Text => _text ?? (Number is { } n ? FormatNumber(n, Format) : "");

    /// <summary>A number in the compact format (<c>0.0123</c>, <c>1.5e-7</c>, <c>3.2e+5</c>).</summary>
    public static EvidenceValue Compact(double value, EvidenceUnit unit = EvidenceUnit.None) => new(value, unit, CompactFormat, null);

    /// <summary>A number in a .NET format string (invariant culture), e.g. <c>"N0"</c>, <c>"0.###"</c>.</summary>
    public static EvidenceValue Of(double value, string format, EvidenceUnit unit = EvidenceUnit.None) => new(value, unit, format, null);

    /// <summary>A fraction shown as a percentage (<paramref name="format"/> <c>"P1"</c>: "12.3%"); JSON gets the fraction.</summary>
    public static EvidenceValue Percent(double fraction, string format = "P1") => new(fraction, EvidenceUnit.Fraction, format, null);

    /// <summary>A count; <paramref name="grouped"/> shows thousands separators ("4,096").</summary>
    public static EvidenceValue Count(long count, bool grouped = false) => new(count, EvidenceUnit.Count, grouped ? "N0" : "0", null);

    /// <summary>A text value (names, lists, composite values).</summary>
    public static EvidenceValue FromText(string text) => new(null, EvidenceUnit.Text, null, text ?? "");

    /// <summary>Text values convert implicitly, so <c>["module"] = name</c> works in an <see cref="Evidence"/> initializer.</summary>
    public static implicit operator EvidenceValue(string text) => FromText(text);

    /// <summary>The value as text, for code that reads evidence as strings.</summary>
    public static implicit operator string(EvidenceValue value) => value.Text;

    /// <summary>Compares the value's text with a string.</summary>
    public static bool operator ==(EvidenceValue value, string? text) => value.Text == text;

    /// <summary>Compares the value's text with a string.</summary>
    public static bool operator !=(EvidenceValue value, string? text) => value.Text != text;

    /// <inheritdoc />
    public override string ToString() => Text;

    /// <summary>The compact format of a number: <c>0</c>, 4 decimals in [1e-3, 1e4), otherwise <c>0.###e+0</c>.</summary>
    public static string CompactText(double v) => v == 0 ? "0" : Math.Abs(v) >= 1e4 || Math.Abs(v) < 1e-3
        ? v.ToString("0.###e+0", CultureInfo.InvariantCulture)
        : v.ToString("0.####", CultureInfo.InvariantCulture);

    private static string FormatNumber(double n, string? format)
        => format is null or CompactFormat ? CompactText(n) : n.ToString(format, CultureInfo.InvariantCulture);
}

/// <summary>
/// A finding's evidence: named values in the order they were added. Reads like a dictionary of texts
/// (<c>evidence["indices"]</c> converts to string); exporters read the typed <see cref="EvidenceValue"/>s.
/// </summary>
public sealed class Evidence : IReadOnlyDictionary<string, EvidenceValue>
{
    private readonly List<KeyValuePair<string, EvidenceValue>> _items = [];

    /// <summary>No evidence.</summary>
    public static Evidence Empty => new();

    /// <summary>Number of values.</summary>
    public int Count => _items.Count;

    /// <summary>Gets a value by name, or sets it (replacing a value of the same name, keeping its position).</summary>
    public EvidenceValue this[string name]
    {
        get => TryGetValue(name, out var v) ? v : throw new KeyNotFoundException($"No evidence named '{name}'.");
        set
        {
            int i = _items.FindIndex(kv => kv.Key == name);
            if (i >= 0) _items[i] = new(name, value);
            else _items.Add(new(name, value));
        }
    }

    /// <summary>Adds a value (collection-initializer form).</summary>
    public void Add(string name, EvidenceValue value) => this[name] = value;

    /// <summary>A copy with <paramref name="more"/>'s values appended, except names this evidence already has.</summary>
    public Evidence WithMissing(Evidence more)
    {
        ArgumentNullException.ThrowIfNull(more);
        var e = new Evidence();
        foreach (var (k, v) in this) e.Add(k, v);
        foreach (var (k, v) in more) if (!ContainsKey(k)) e.Add(k, v);
        return e;
    }

    /// <summary>Names in order.</summary>
    public IEnumerable<string> Keys => _items.Select(kv => kv.Key);
    /// <summary>Values in order.</summary>
    public IEnumerable<EvidenceValue> Values => _items.Select(kv => kv.Value);

    /// <inheritdoc />
    public bool ContainsKey(string key) => _items.Exists(kv => kv.Key == key);

    /// <inheritdoc />
    public bool TryGetValue(string key, out EvidenceValue value)
    {
        foreach (var kv in _items)
            if (kv.Key == key) { value = kv.Value; return true; }
        value = default;
        return false;
    }

    /// <inheritdoc />
    public IEnumerator<KeyValuePair<string, EvidenceValue>> GetEnumerator() => _items.GetEnumerator();
    IEnumerator IEnumerable.GetEnumerator() => GetEnumerator();

    /// <summary>Text-only evidence from a dictionary of strings (insertion order kept).</summary>
    public static implicit operator Evidence(Dictionary<string, string> texts)
    {
        var e = new Evidence();
        foreach (var (k, v) in texts) e.Add(k, EvidenceValue.FromText(v));
        return e;
    }
}
