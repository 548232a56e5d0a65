using System.Text.Json;
using TorchDoctor.Porting;

namespace TorchDoctor.Reporting;

/// <summary>The porting check as JSON (the contract of <c>torchdoctor compare --json</c>).</summary>
public static class PortingJson
{
    /// <summary>
    /// The JSON contract of <c>torchdoctor compare --json</c>: <c>structure</c> [{path, kind, expected, actual,
    /// changesComputation, explanation}], <c>missingKeys</c>, <c>unexpectedKeys</c>, <c>shapeMismatches</c> [{key,
    /// expected, actual}], <c>suggestedMapping</c>, <c>maxAbsError</c>, <c>maxRelError</c>, <c>firstDivergentLayer</c>,
    /// <c>findings</c>, and <c>match</c>. Parts that were not compared are null.
    /// </summary>
    public static string Render(PortingReport r, bool indented = true)
    {
        return JsonText.Write(indented, w =>
        {
            w.WriteStartObject();
            w.WriteString("model", r.ModelName);
            w.WriteBoolean("match", r.Matches);
            if (r.Structure is null) w.WriteNull("structure");
            else
            {
                w.WriteStartArray("structure");
                foreach (var d in r.Structure.Differences)
                {
                    w.WriteStartObject();
                    w.WriteString("path", d.Path);
                    w.WriteString("kind", d.KindName);
                    if (d.Expected is null) w.WriteNull("expected"); else w.WriteString("expected", d.Expected);
                    if (d.Actual is null) w.WriteNull("actual"); else w.WriteString("actual", d.Actual);
                    w.WriteBoolean("changesComputation", d.ChangesComputation);
                    w.WriteString("explanation", d.Explanation);
                    w.WriteEndObject();
                }
                w.WriteEndArray();
                w.WriteStartArray("notCompared");
                foreach (var u in r.Structure.Unverified) w.WriteStringValue(u);
                w.WriteEndArray();
            }
            var sd = r.StateDict;
            Strings(w, "missingKeys", sd?.MissingKeys);
            Strings(w, "unexpectedKeys", sd?.UnexpectedKeys);
            if (sd is null) w.WriteNull("shapeMismatches");
            else
            {
                w.WriteStartArray("shapeMismatches");
                foreach (var s in sd.ShapeMismatches)
                {
                    w.WriteStartObject();
                    w.WriteString("key", s.Key);
                    JsonText.WriteShape(w, "expected", s.Expected);
                    JsonText.WriteShape(w, "actual", s.Actual);
                    w.WriteEndObject();
                }
                w.WriteEndArray();
                w.WriteStartArray("dtypeMismatches");
                foreach (var d in sd.DTypeMismatches)
                {
                    w.WriteStartObject();
                    w.WriteString("key", d.Key);
                    w.WriteString("expected", d.Expected.ToString());
                    w.WriteString("actual", d.Actual.ToString());
                    w.WriteEndObject();
                }
                w.WriteEndArray();
            }
            if (sd?.SuggestedMapping is not { } map) w.WriteNull("suggestedMapping");
            else
            {
                w.WriteStartObject("suggestedMapping");
                w.WriteStartArray("rules");
                foreach (var r in map.Rules) { w.WriteStartObject(); w.WriteString("from", r.From); w.WriteString("to", r.To); w.WriteEndObject(); }
                w.WriteEndArray();
                w.WriteStartObject("keys");
                foreach (var p in map.Pairs) w.WriteString(p.From, p.To);
                w.WriteEndObject();
                Strings(w, "missingAfter", sd.MissingAfterMapping);
                Strings(w, "unexpectedAfter", sd.UnexpectedAfterMapping);
                w.WriteString("code", map.Code(sd.CheckpointPath, sd.Format == "safetensors"));
                w.WriteEndObject();
            }
            if (sd is null) w.WriteNull("weightsLoaded"); else w.WriteNumber("weightsLoaded", sd.LoadedCount);
            var n = r.Numbers;
            Number(w, "maxAbsError", n?.MaxAbsError);
            Number(w, "maxRelError", n?.MaxRelError);
            Number(w, "tolerance", n?.Tolerance);
            if (sd is null) w.WriteNull("nonFiniteWeights");
            else { w.WriteStartObject("nonFiniteWeights"); foreach (var kv in sd.NonFinite) w.WriteNumber(kv.Key, kv.Value); w.WriteEndObject(); }
            if (n is null) { w.WriteNull("nonFiniteExpected"); w.WriteNull("nonFiniteActual"); }
            else { w.WriteNumber("nonFiniteExpected", n.NonFiniteExpected); w.WriteNumber("nonFiniteActual", n.NonFiniteActual); w.WriteNumber("nonFiniteInput", n.NonFiniteInput); }
            if (n is null) { w.WriteNull("outputShape"); w.WriteNull("expectedOutputShape"); }
            else { JsonText.WriteShape(w, "outputShape", n.ActualShape); JsonText.WriteShape(w, "expectedOutputShape", n.ExpectedShape); }
            if (n?.FirstDivergent is { } d1) w.WriteString("firstDivergentLayer", d1.Path); else w.WriteNull("firstDivergentLayer");
            if (n is null || !n.HadLayers) w.WriteNull("layers");
            else
            {
                w.WriteStartArray("layers");
                foreach (var l in n.Layers)
                {
                    w.WriteStartObject();
                    w.WriteString("path", l.Path);
                    w.WriteString("reference", l.ReferenceName);
                    w.WriteString("type", l.Type);
                    JsonText.WriteShape(w, "expectedShape", l.Expected);
                    JsonText.WriteShape(w, "actualShape", l.Actual);
                    Number(w, "maxAbsError", l.MaxAbsError);
                    Number(w, "maxRelError", l.MaxRelError);
                    w.WriteBoolean("diverges", l.Diverges);
                    w.WriteEndObject();
                }
                w.WriteEndArray();
            }
            SummaryJson.WriteFindings(w, r.Findings);
            w.WriteEndObject();
        });
    }


    private static void Strings(Utf8JsonWriter w, string name, IReadOnlyList<string>? values)
    {
        if (values is null) { w.WriteNull(name); return; }
        w.WriteStartArray(name);
        foreach (var v in values) w.WriteStringValue(v);
        w.WriteEndArray();
    }


    private static void Number(Utf8JsonWriter w, string name, double? v)
    {
        if (v is not { } x || double.IsNaN(x)) w.WriteNull(name);
        else if (double.IsInfinity(x)) w.WriteString(name, "Infinity");
        else w.WriteNumber(name, x);
    }
}
