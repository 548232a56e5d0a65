using TorchDoctor.Findings;
using System.Text;
using System.Text.Encodings.Web;
using System.Text.Json;

namespace TorchDoctor.Reporting;

/// <summary>One way for every JSON sink to produce its text: UTF-8, readable (→, ×, ‖ stay as they are), optionally indented.</summary>
public static class JsonText
{
    /// <summary>Runs <paramref name="body"/> against a writer and returns what it wrote.</summary>
    public static string Write(bool indented, Action<Utf8JsonWriter> body)
    {
        using var ms = new MemoryStream();
        using (var w = new Utf8JsonWriter(ms, new JsonWriterOptions { Indented = indented, Encoder = JavaScriptEncoder.UnsafeRelaxedJsonEscaping }))
            body(w);
        return Encoding.UTF8.GetString(ms.ToArray());
    }

    /// <summary>Writes a tensor shape as a JSON array property: <c>"name": [4, 20]</c>.</summary>
    public static void WriteShape(Utf8JsonWriter w, string name, IEnumerable<long> shape)
    {
        w.WriteStartArray(name);
        foreach (var d in shape) w.WriteNumberValue(d);
        w.WriteEndArray();
    }

    /// <summary>
    /// Writes one evidence value: a JSON number when it has a finite number (counts as integers, fractions as
    /// fractions: 0.123 for "12.3%"), otherwise its text.
    /// </summary>
    public static void WriteEvidence(Utf8JsonWriter w, string name, EvidenceValue v)
    {
        if (v.Number is { } n && double.IsFinite(n))
        {
            if (v.Unit == EvidenceUnit.Count && n == Math.Floor(n) && Math.Abs(n) < 9e15) w.WriteNumber(name, (long)n);
            else w.WriteNumber(name, n);
        }
        else w.WriteString(name, v.Text);
    }
}
