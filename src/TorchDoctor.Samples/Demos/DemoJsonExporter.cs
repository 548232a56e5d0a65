using System.Text.Json;
using TorchDoctor.Reporting;

namespace TorchDoctor.Demos;

/// <summary>The demo JSON contract of <c>torchdoctor demo --json</c>: {"case", "findings":[...], "before", "after", "remedy"}.</summary>
public sealed class DemoJsonExporter : ExporterBase<DemoResult>
{
    /// <inheritdoc />
    public override string Format => "json";

    /// <inheritdoc />
    public override string Render(DemoResult r)
    {
        return JsonText.Write(true, w =>
        {
            w.WriteStartObject();
            w.WriteString("case", r.Case);
            SummaryJson.WriteFindings(w, r.Findings);
            WriteRun(w, "before", r.Before);
            if (r.After is null) w.WriteNull("after"); else WriteRun(w, "after", r.After);
            w.WriteString("remedy", r.Remedy);
            w.WriteEndObject();
        });
    }

    private static void WriteRun(Utf8JsonWriter w, string name, DemoRun run)
    {
        w.WriteStartObject(name);
        w.WriteString("label", run.Label);
        foreach (var (k, v) in run.Metrics)
        {
            if (double.IsFinite(v)) w.WriteNumber(k, v);
            else w.WriteString(k, double.IsNaN(v) ? "NaN" : v > 0 ? "Infinity" : "-Infinity");
        }
        SummaryJson.WriteFindings(w, run.Findings);
        w.WriteEndObject();
    }
}
