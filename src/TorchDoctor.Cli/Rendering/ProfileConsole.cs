using TorchDoctor.Detectors;
using TorchDoctor.Findings;
using TorchDoctor.Profiling;
using TorchDoctor.Reporting;

namespace TorchDoctor.Cli.Rendering;

/// <summary>
/// Console sink of `torchdoctor profile`: the profile through the library's exporters (table, JSON), the inference
/// grad-mode cost, the findings and where the trace went. The profile itself is data (<see cref="ProfileReport"/>).
/// </summary>
public static class ProfileConsole
{
    /// <summary>Writes the table, the inference cost, the findings and the trace path.</summary>
    public static void WriteText(TextWriter output, string title, ProfileReport report, ProfileExportSettings settings, GradModeCost gradCost,
        IReadOnlyList<Finding> findings, string? tracePath)
    {
        ArgumentNullException.ThrowIfNull(output);
        output.WriteLine(title);
        new ProfileTextExporter(settings).Export(report, output);
        output.WriteLine($"Inference (eval mode) on this input holds {LeakDetector.Bytes(gradCost.WithGradBytes)} per kept output with grad mode on, " +
                         $"{LeakDetector.Bytes(gradCost.NoGradBytes)} under torch.no_grad(): wrap evaluation in `using (torch.no_grad())` to save {LeakDetector.Bytes(gradCost.SavedBytes)} per batch.");
        foreach (var f in findings) output.WriteLine(f.ToString());
        if (tracePath is not null) output.WriteLine($"Chrome trace: {tracePath} (open in https://ui.perfetto.dev or chrome://tracing)");
    }

    /// <summary>Writes one JSON object: the profile with its findings, and the inference grad-mode cost.</summary>
    public static void WriteJson(TextWriter output, ProfileReport report, GradModeCost gradCost, IReadOnlyList<Finding> findings)
    {
        ArgumentNullException.ThrowIfNull(output);
        ArgumentNullException.ThrowIfNull(gradCost);
        var jsonText = new ProfileJsonExporter(findings: findings).Render(report).TrimEnd();
        output.WriteLine(jsonText[..^1].TrimEnd() + $",\n  \"inference\": {{ \"withGradBytes\": {gradCost.WithGradBytes}, \"noGradBytes\": {gradCost.NoGradBytes}, \"savedByNoGradBytes\": {gradCost.SavedBytes} }}\n}}");
    }
}
