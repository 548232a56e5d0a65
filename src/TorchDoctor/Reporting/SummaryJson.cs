using System.Text.Json;
using TorchDoctor.Findings;
using TorchDoctor.Inspection;

namespace TorchDoctor.Reporting;

/// <summary>JSON sink for summaries (the CLI's <c>--json</c> contract) and findings.</summary>
public static class SummaryJson
{
    /// <summary>Renders the report as one JSON object.</summary>
    public static string Render(SummaryReport r, bool indented = true)
    {
        return JsonText.Write(indented, w =>
        {
            w.WriteStartObject();
            w.WriteString("model", r.ModelName);
            w.WriteString("mode", r.TrainMode ? "train" : "eval");
            w.WriteBoolean("succeeded", r.Succeeded);
            WriteShapes(w, "inputShapes", r.InputShapes);
            WriteShapes(w, "outputShapes", r.OutputShapes);
            w.WriteNumber("totalParams", r.TotalParams);
            w.WriteNumber("trainableParams", r.TrainableParams);
            w.WriteNumber("nonTrainableParams", r.NonTrainableParams);
            WriteNumberOrNull(w, "multAdds", r.MultAdds);
            w.WriteNumber("inputBytes", r.InputBytes);
            WriteNumberOrNull(w, "forwardBackwardBytes", r.ForwardBackwardBytes);
            w.WriteNumber("paramsBytes", r.ParamsBytes);
            w.WriteNumber("buffersBytes", r.BuffersBytes);
            WriteNumberOrNull(w, "estimatedTotalBytes", r.EstimatedTotalBytes);
            if (r.MeasuredPeakBytes is { } m) w.WriteNumber("measuredPeakBytes", m); else w.WriteNull("measuredPeakBytes");
            if (r.MeasurementMethod is { } mm) w.WriteString("measurementMethod", mm);
            if (r.LiveTensors is { } lt)
            {
                w.WriteStartObject("liveTensors");
                w.WriteNumber("before", lt.Before);
                w.WriteNumber("after", lt.After);
                w.WriteEndObject();
            }
            w.WriteStartArray("layers");
            foreach (var row in r.Rows)
            {
                w.WriteStartObject();
                w.WriteString("path", row.Path);
                w.WriteString("type", row.Type);
                w.WriteNumber("depth", row.Depth);
                w.WriteString("label", row.Label);
                WriteShapes(w, "inputShapes", row.InputShapes);
                if (row.OutputShapes.Count > 0) JsonText.WriteShape(w, "outputShape", row.OutputShapes[0]); else w.WriteNull("outputShape");
                w.WriteNumber("params", row.Params);
                w.WriteNumber("trainableParams", row.TrainableParams);
                WriteNumberOrNull(w, "multAdds", row.MultAdds);
                if (row.KernelSize is not null) w.WriteString("kernelSize", row.KernelSize);
                w.WriteBoolean("leaf", row.IsLeaf);
                w.WriteBoolean("recursive", row.Recursive);
                w.WriteBoolean("ran", row.Ran);
                if (row.Failed) w.WriteBoolean("failed", true);
                w.WriteNumber("timeMs", Math.Round(row.TimeMs, 4));
                w.WriteEndObject();
            }
            w.WriteEndArray();
            w.WriteStartArray("neverRan");
            foreach (var n in r.NeverRan) w.WriteStringValue(n);
            w.WriteEndArray();
            WriteFindings(w, r.Findings);
            if (r.Failure is { } f)
            {
                w.WriteStartObject("error");
                w.WriteString("module", f.Module);
                w.WriteString("type", f.ModuleType);
                w.WriteString("kind", f.Kind);
                w.WriteStartObject("configuration");
                foreach (var (k, v) in f.Configuration) w.WriteString(k, v);
                w.WriteEndObject();
                WriteShapes(w, "inputShapes", f.InputShapes);
                w.WriteStartArray("previous");
                foreach (var p in f.Previous)
                {
                    w.WriteStartObject();
                    w.WriteString("path", p.Path);
                    w.WriteString("type", p.Type);
                    if (p.OutputShape is null) w.WriteNull("outputShape"); else JsonText.WriteShape(w, "outputShape", p.OutputShape);
                    w.WriteEndObject();
                }
                w.WriteEndArray();
                w.WriteString("rule", f.Rule);
                w.WriteString("fix", f.Fix);
                if (f.Caution is not null) w.WriteString("caution", f.Caution);
                w.WriteString("message", f.NativeMessage);
                w.WriteEndObject();
            }
            else w.WriteNull("error");
            w.WriteEndObject();
        });
    }

    /// <summary>Writes findings in the shared format as an array property named <c>findings</c>.</summary>
    public static void WriteFindings(Utf8JsonWriter w, IEnumerable<Finding> findings)
    {
        w.WriteStartArray("findings");
        foreach (var f in findings)
        {
            w.WriteStartObject();
            WriteFindingFields(w, f);
            w.WriteEndObject();
        }
        w.WriteEndArray();
    }

    /// <summary>Writes the fields of one finding (code, slug, severity, module, step, message, evidence, advice) into the open object.</summary>
    public static void WriteFindingFields(Utf8JsonWriter w, Finding f)
    {
        ArgumentNullException.ThrowIfNull(w);
        ArgumentNullException.ThrowIfNull(f);
        w.WriteString("code", f.Code);
        w.WriteString("slug", f.Slug);
        w.WriteString("severity", f.Severity.ToString().ToLowerInvariant());
        if (f.Module is null) w.WriteNull("module"); else w.WriteString("module", f.Module);
        if (f.Step is null) w.WriteNull("step"); else w.WriteNumber("step", f.Step.Value);
        w.WriteString("message", f.Message);
        w.WriteStartObject("evidence");
        foreach (var (k, v) in f.Evidence) JsonText.WriteEvidence(w, k, v);
        w.WriteEndObject();
        w.WriteString("advice", f.Advice);
    }

    private static void WriteShapes(Utf8JsonWriter w, string name, IEnumerable<long[]> shapes)
    {
        w.WriteStartArray(name);
        foreach (var s in shapes)
        {
            w.WriteStartArray();
            foreach (var d in s) w.WriteNumberValue(d);
            w.WriteEndArray();
        }
        w.WriteEndArray();
    }


    /// <summary>A number, or null when unknown (never 0 for "unknown").</summary>
    private static void WriteNumberOrNull(Utf8JsonWriter w, string name, long? value)
    {
        if (value is { } v) w.WriteNumber(name, v); else w.WriteNull(name);
    }
}
