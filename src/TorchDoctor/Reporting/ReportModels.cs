using System.Globalization;
using TorchDoctor.Data;
using TorchDoctor.Detectors;
using TorchDoctor.Findings;
using TorchDoctor.Inspection;
using TorchDoctor.Observations;
using TorchDoctor.Profiling;

namespace TorchDoctor.Reporting;

/// <summary>
/// The HTML report's content of each finished result: a model summary, a data check, a profile. Results stay data; these
/// turn them into a <see cref="ReportModel"/> (findings, tables, charts) that <see cref="HtmlReport"/> renders. The
/// <c>html</c> exporters below and the CLI's <c>--report</c> use them.
/// </summary>
public static class ReportModels
{
    private static readonly CultureInfo Inv = CultureInfo.InvariantCulture;

    /// <summary>The model table: one row per module down to <paramref name="depth"/> (torchinfo's columns).</summary>
    public static ReportTable ModelTable(SummaryReport report, int depth = 3, string? title = null)
    {
        ArgumentNullException.ThrowIfNull(report);
        var settings = new SummaryExportSettings { Depth = depth, Columns = SummaryColumns.Default };
        var columns = SummaryFormat.Columns(settings.Columns);
        var rows = new List<IReadOnlyList<string>>();
        foreach (var (i, row) in SummaryFormat.VisibleRows(report, settings))
            rows.Add([SummaryFormat.TreePrefix(row.Depth) + row.Label, row.Path.Length == 0 ? ModuleNames.Root : row.Path,
                .. columns.Select(c => SummaryFormat.Cell(report, settings, i, c.Column))]);
        return new ReportTable(title ?? $"Model: {report.ModelName}", ["Layer (type: depth-idx)", "Path", .. columns.Select(c => c.Header)], rows);
    }

    /// <summary>A summary's page: its findings (and the forward failure), the model table, totals and sizes.</summary>
    public static ReportModel From(SummaryReport report, int depth = 3)
    {
        ArgumentNullException.ThrowIfNull(report);
        var model = new ReportModel
        {
            Title = $"TorchDoctor: summary of {report.ModelName}",
            Subtitle = $"input {string.Join(", ", report.InputShapes.Select(DataDetectors.ShapeText))}, {(report.TrainMode ? "train" : "eval")} mode",
        };
        model.Findings.AddRange(report.Findings);
        if (report.Failure is { } f)
            model.Notes.Add($"The forward pass failed in {f.Module} ({f.ModuleType}): {f.Rule} Fix: {f.Fix}");
        model.Tables.Add(ModelTable(report, depth));
        var totals = SummaryFormat.Totals(report).Concat(SummaryFormat.Sizes(report)).Select(l =>
        {
            int colon = l.IndexOf(':', StringComparison.Ordinal);
            return (IReadOnlyList<string>)(colon < 0 ? [l, ""] : [l[..colon], l[(colon + 1)..].Trim()]);
        }).ToList();
        model.Tables.Add(new ReportTable("Totals and sizes", ["Quantity", "Value"], totals));
        if (report.NeverRan.Count > 0) model.Notes.Add("Modules that never ran in the forward pass: " + string.Join(", ", report.NeverRan));
        return model;
    }

    /// <summary>
    /// A data check's page: findings, a field table and class histogram per split, duplicates and overlap, and a grid of
    /// samples per class when <paramref name="samples"/> are given.
    /// </summary>
    public static ReportModel From(DataCheckReport report, string title, IReadOnlyList<string>? classNames = null, ImageSamples? samples = null)
    {
        ArgumentNullException.ThrowIfNull(report);
        var model = new ReportModel { Title = $"TorchDoctor: data check of {title}", Subtitle = $"checked in {report.Seconds.ToString("0.0", Inv)} s" };
        model.Findings.AddRange(report.Findings);
        foreach (var s in report.Splits)
        {
            var rows = s.Fields.Select(f => (IReadOnlyList<string>)[f.Name, f.Role.ToString().ToLowerInvariant(), f.DType, DataDetectors.ShapeText(f.Shape),
                f.Role == FieldRole.Image && f.ChannelMean.Count > 1 ? string.Join(", ", f.ChannelMean.Select(G)) : G(f.Mean),
                f.Role == FieldRole.Image && f.ChannelStd.Count > 1 ? string.Join(", ", f.ChannelStd.Select(G)) : G(f.Std),
                G(f.Min), G(f.Max), f.NonFinite.ToString("N0", Inv),
                f.Role == FieldRole.Image ? DataDetectors.ImageVerdict(f) + (f.Layout is null ? "" : ", " + f.Layout) : ""]).ToList();
            model.Tables.Add(new ReportTable($"{s.Name}: {s.DatasetSize:N0} samples ({(s.Samples < s.DatasetSize ? $"{s.Samples:N0} checked" : "all checked")}), " +
                $"{s.Duplicates.DuplicateSamples:N0} exact duplicates, {s.Failures.Count:N0} unreadable",
                ["Field", "Role", "dtype", "Shape", "Mean", "Std", "Min", "Max", "NaN/Inf", "Verdict"], rows));
            if (s.Labels is { Histogram.Count: > 0 } l)
            {
                int k = l.Classes ?? DataDetectors.InferredClasses(l) ?? 0;
                var hist = l.Histogram.OrderBy(kv => kv.Key).Take(200).Select(kv => (IReadOnlyList<string>)[
                    kv.Key.ToString(Inv) + (classNames is not null && kv.Key >= 0 && kv.Key < classNames.Count ? " " + classNames[(int)kv.Key] : "") + (kv.Key < 0 || kv.Key >= k ? " (out of range)" : ""),
                    kv.Value.ToString("N0", Inv), (l.Samples == 0 ? 0 : 100.0 * kv.Value / l.Samples).ToString("0.0", Inv) + "%"]).ToList();
                model.Tables.Add(new ReportTable($"{s.Name}: classes ({k} from {l.ClassesSource ?? "the labels"})", ["Class", "Samples", "Share"], hist));
            }
        }
        foreach (var l in report.Leakage)
            model.Notes.Add($"Overlap {l.Split} ↔ {l.Against}: {(l.Samples == 0 ? "none" : $"{l.Samples:N0} sample(s)")}.");
        if (samples is not null) model.SampleGrids.Add(Grid(samples, $"Samples per class of '{samples.Field}', as the model receives them", classNames));
        return model;
    }

    /// <summary>A profile's page: findings, the self-time and phase charts, and the per-module table.</summary>
    public static ReportModel From(ProfileReport report, IReadOnlyList<Finding> findings, string title, int rowLimit = 30)
    {
        ArgumentNullException.ThrowIfNull(report);
        ArgumentNullException.ThrowIfNull(findings);
        var model = new ReportModel { Title = $"TorchDoctor: profile of {title}", Subtitle = $"{report.Steps.Count} profiled step(s), {report.StepMs.ToString("0.00", Inv)} ms per step" };
        model.Findings.AddRange(findings);
        model.Profiles.Add(ReportProfile.From(report, title));
        model.Tables.Add(ProfileTable(report, rowLimit));
        return model;
    }

    /// <summary>The profiler's per-module rows (per step averages), most self time first.</summary>
    public static ReportTable ProfileTable(ProfileReport report, int rowLimit = 30)
    {
        ArgumentNullException.ThrowIfNull(report);
        static string Ms(double v) => v.ToString("0.000", Inv);
        var rows = report.Sorted("self").Take(rowLimit).Select(r => (IReadOnlyList<string>)[r.Module, r.Type, r.Calls.ToString("0.##", Inv),
            Ms(r.ForwardSelfMs), Ms(r.ForwardTotalMs), Ms(r.BackwardSelfMs), Ms(r.BackwardTotalMs), ByteText.Format(r.OutputBytes), r.Parameters.ToString("N0", Inv)]).ToList();
        return new ReportTable("Time per module and step", ["Module", "Type", "Calls", "Fwd self ms", "Fwd total ms", "Bwd self ms", "Bwd total ms", "Output", "Params"], rows);
    }

    /// <summary>
    /// A sample grid for display: each image rescaled from the samples' value range to [0, 1] (undoing a Normalize for the
    /// eye; the range shown is in the title), labelled by class name when known.
    /// </summary>
    public static SampleGrid Grid(ImageSamples samples, string title, IReadOnlyList<string>? classNames = null)
    {
        ArgumentNullException.ThrowIfNull(samples);
        float lo = float.PositiveInfinity, hi = float.NegativeInfinity;
        foreach (var (_, px) in samples.Items)
            foreach (var v in px)
                if (float.IsFinite(v)) { lo = Math.Min(lo, v); hi = Math.Max(hi, v); }
        if (!float.IsFinite(lo)) (lo, hi) = (0, 1);
        float span = Math.Max(1e-12f, hi - lo);
        var items = samples.Items.Select(it => (
            classNames is not null && it.Label >= 0 && it.Label < classNames.Count ? classNames[(int)it.Label] : "class " + it.Label.ToString(Inv),
            it.Pixels.Select(v => float.IsFinite(v) ? (v - lo) / span : 0f).ToArray())).ToList();
        return new SampleGrid($"{title} (shown rescaled from [{lo.ToString("G3", Inv)}, {hi.ToString("G3", Inv)}])", samples.Channels, samples.Height, samples.Width, items);
    }

    private static string G(double v) => double.IsNaN(v) ? "--" : Math.Abs(v) >= 1e5 ? v.ToString("0.###e+0", Inv) : v.ToString("0.0000", Inv);
}

/// <summary>The summary as a self-contained HTML page (findings, model table, totals).</summary>
public sealed class SummaryHtmlExporter(SummaryExportSettings? settings = null) : ExporterBase<SummaryReport>
{
    /// <summary>The display settings (depth of the model table).</summary>
    public SummaryExportSettings Settings { get; } = settings ?? new();
    /// <inheritdoc />
    public override string Format => "html";
    /// <inheritdoc />
    public override string Render(SummaryReport report) => HtmlReport.Render(ReportModels.From(report, Settings.Depth));
}

/// <summary>The data check as a self-contained HTML page (findings, field tables, class histograms).</summary>
public sealed class DataCheckHtmlExporter : ExporterBase<DataCheckReport>
{
    /// <inheritdoc />
    public override string Format => "html";
    /// <inheritdoc />
    public override string Render(DataCheckReport report) => HtmlReport.Render(ReportModels.From(report, "a data set"));
}

/// <summary>The profile as a self-contained HTML page (findings, self time per module, step phases, table).</summary>
public sealed class ProfileHtmlExporter : ExporterBase<ProfileReport>
{
    /// <inheritdoc />
    public override string Format => "html";
    /// <inheritdoc />
    public override string Render(ProfileReport report) => HtmlReport.Render(ReportModels.From(report, ProfileDetector.Detect(report), "a model"));
}
