using TorchDoctor.Observations;
using System.Text.Json;
using TorchDoctor.Data;
using TorchDoctor.Detectors;

namespace TorchDoctor.Reporting;

/// <summary>
/// JSON sink for data checks: <c>{"samples", "fields":[...], "classes":{"count","histogram"}, "duplicates", "leakage",
/// "findings":[...]}</c> for the training split, then <c>"splits"</c> with every split in detail.
/// </summary>
public static class DataJson
{
    /// <summary>Renders the report as one JSON object.</summary>
    public static string Render(DataCheckReport r, bool indented = true)
    {
        return JsonText.Write(indented, w =>
        {
            w.WriteStartObject();
            var p = r.Primary;
            w.WriteNumber("samples", p.Samples);
            w.WriteNumber("datasetSize", p.DatasetSize);
            WriteFields(w, p);
            WriteClasses(w, p);
            w.WriteNumber("duplicates", p.Duplicates.DuplicateSamples);
            w.WriteNumber("leakage", r.Leakage.Sum(l => l.Samples));
            SummaryJson.WriteFindings(w, r.Findings);
            w.WriteStartArray("splits");
            foreach (var s in r.Splits)
            {
                w.WriteStartObject();
                w.WriteString("name", s.Name);
                w.WriteNumber("samples", s.Samples);
                w.WriteNumber("datasetSize", s.DatasetSize);
                WriteFields(w, s);
                WriteClasses(w, s);
                w.WriteStartObject("duplicates");
                w.WriteNumber("samples", s.Duplicates.DuplicateSamples);
                w.WriteNumber("groups", s.Duplicates.Groups);
                w.WriteNumber("conflictingLabels", s.Duplicates.ConflictingLabels);
                w.WriteStartArray("pairs");
                foreach (var (i, j) in s.Duplicates.Pairs) { w.WriteStartArray(); w.WriteNumberValue(i); w.WriteNumberValue(j); w.WriteEndArray(); }
                w.WriteEndArray();
                w.WriteEndObject();
                if (r.Leakage.FirstOrDefault(l => l.Split == s.Name) is { } leak)
                {
                    w.WriteStartObject("leakage");
                    w.WriteString("against", leak.Against);
                    w.WriteNumber("samples", leak.Samples);
                    w.WriteStartArray("pairs");
                    foreach (var (i, j) in leak.Pairs) { w.WriteStartArray(); w.WriteNumberValue(i); w.WriteNumberValue(j); w.WriteEndArray(); }
                    w.WriteEndArray();
                    w.WriteEndObject();
                }
                w.WriteStartArray("failures");
                foreach (var f in s.Failures)
                {
                    w.WriteStartObject();
                    w.WriteNumber("index", f.Index);
                    w.WriteString("exception", f.Exception);
                    w.WriteString("message", f.Message);
                    w.WriteEndObject();
                }
                w.WriteEndArray();
                w.WriteEndObject();
            }
            w.WriteEndArray();
            w.WriteNumber("seconds", Math.Round(r.Seconds, 3));
            w.WriteEndObject();
        });
    }

    private static void WriteFields(Utf8JsonWriter w, SplitReport s)
    {
        w.WriteStartArray("fields");
        foreach (var f in s.Fields)
        {
            w.WriteStartObject();
            w.WriteString("name", f.Name);
            w.WriteString("role", f.Role.ToString().ToLowerInvariant());
            w.WriteString("dtype", f.DType);
            JsonText.WriteShape(w, "shape", f.Shape);
            Num(w, "mean", f.Mean);
            Num(w, "std", f.Std);
            Num(w, "min", f.Min);
            Num(w, "max", f.Max);
            w.WriteNumber("nonFinite", f.NonFinite);
            w.WriteNumber("nan", f.NaN);
            w.WriteNumber("inf", f.Inf);
            if (f.Role == FieldRole.Image)
            {
                if (f.Layout is null) w.WriteNull("layout"); else w.WriteString("layout", f.Layout);
                w.WriteStartArray("channelMean");
                foreach (var m in f.ChannelMean) NumValue(w, m);
                w.WriteEndArray();
                w.WriteStartArray("channelStd");
                foreach (var m in f.ChannelStd) NumValue(w, m);
                w.WriteEndArray();
                w.WriteString("verdict", DataDetectors.ImageVerdict(f));
            }
            w.WriteEndObject();
        }
        w.WriteEndArray();
    }

    private static void WriteClasses(Utf8JsonWriter w, SplitReport s)
    {
        if (s.Labels is not { } l) { w.WriteNull("classes"); return; }
        // Memory bounded by the data: a dense histogram only up to MaxInferredClasses entries, else the seen labels.
        int? inferred = DataDetectors.InferredClasses(l);
        int count = l.Classes ?? inferred ?? 0;
        w.WriteStartObject("classes");
        w.WriteString("field", l.Field);
        if (l.Classes is null && inferred is null) w.WriteNull("count"); else w.WriteNumber("count", count);
        w.WriteString("source", l.ClassesSource ?? (inferred is null ? "unknown: the labels are not class indices" : "inferred: largest label + 1"));
        long maxLabel = l.Histogram.Count == 0 ? -1 : l.Histogram.Keys.Max();
        long dense = Math.Max(count, maxLabel + 1);
        if (dense <= DataDetectors.MaxInferredClasses)
        {
            w.WriteStartArray("histogram");
            for (long c = 0; c < dense; c++) w.WriteNumberValue(l.Histogram.GetValueOrDefault(c));
            w.WriteEndArray();
        }
        else w.WriteNull("histogram");
        w.WriteStartObject("counts");
        foreach (var (c, n) in l.Histogram.OrderBy(kv => kv.Key).Take(10_000)) w.WriteNumber(c.ToString(System.Globalization.CultureInfo.InvariantCulture), n);
        w.WriteEndObject();
        w.WriteNumber("hugeLabels", l.HugeLabels);
        w.WriteNumber("outOfRange", l.Histogram.Where(kv => kv.Key < 0 || kv.Key >= count).Sum(kv => kv.Value) + l.HugeLabels);
        if (count > 0)
        {
            var (minCount, maxCount) = DataDetectors.ClassCountRange(l, count);
            double ratio = minCount == 0 ? double.PositiveInfinity : (double)maxCount / minCount;
            if (double.IsFinite(ratio)) w.WriteNumber("imbalanceRatio", Math.Round(ratio, 4)); else w.WriteNull("imbalanceRatio");
            w.WriteString("verdict", DataDetectors.BalanceVerdict(ratio));
        }
        w.WriteEndObject();
    }

    private static void Num(Utf8JsonWriter w, string name, double v)
    {
        if (double.IsFinite(v)) w.WriteNumber(name, Math.Round(v, 6)); else w.WriteNull(name);
    }

    private static void NumValue(Utf8JsonWriter w, double v)
    {
        if (double.IsFinite(v)) w.WriteNumberValue(Math.Round(v, 6)); else w.WriteNullValue();
    }
}
