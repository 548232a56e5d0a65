using TorchDoctor.Inspection;
using TorchDoctor.Reporting;
using TorchDoctor.Training;
using static TorchSharp.torch;
using Module = TorchSharp.torch.nn.Module;

namespace TorchDoctor;

/// <summary>
/// Short entry points in the style of TorchSharpSummary: <c>model.Summary(1, 3, 224, 224)</c> and
/// <c>using var doctor = model.AttachDoctor(optimizer, "runs/exp1")</c>.
/// </summary>
public static class TorchDoctorExtensions
{
    /// <summary>Runs one forward pass on zeros of <paramref name="inputShape"/> and returns the summary (<see cref="ModelSummary.Run(Module, long[][])"/>); <see cref="ToText"/> gives the table.</summary>
    public static SummaryReport Summary(this Module model, params long[] inputShape)
    {
        ArgumentNullException.ThrowIfNull(model);
        ArgumentNullException.ThrowIfNull(inputShape);
        return ModelSummary.Run(model, [inputShape]);
    }

    /// <summary>The summary as torchinfo's text table (<see cref="SummaryTextExporter"/>; display choices in <paramref name="settings"/>).</summary>
    public static string ToText(this SummaryReport report, SummaryExportSettings? settings = null)
    {
        ArgumentNullException.ThrowIfNull(report);
        return new SummaryTextExporter(settings).Render(report);
    }

    /// <summary>
    /// Attaches a <see cref="Doctor"/> (<see cref="Doctor.Attach"/>). With <paramref name="runDirectory"/>, the run is
    /// recorded there as it trains: <c>run.jsonl</c> (the run log, docs/run-log.md) and TensorBoard event files, and
    /// <c>report.html</c> is written when the doctor is disposed.
    /// </summary>
    public static Doctor AttachDoctor(this Module model, optim.Optimizer? optimizer = null, string? runDirectory = null, DoctorOptions? options = null)
    {
        ArgumentNullException.ThrowIfNull(model);
        options ??= new DoctorOptions();
        if (runDirectory is not null) options = options with { Sinks = [.. options.Sinks, .. RunSinks.ForDirectory(runDirectory, htmlReport: true)] };
        return Doctor.Attach(model, optimizer, options);
    }
}
