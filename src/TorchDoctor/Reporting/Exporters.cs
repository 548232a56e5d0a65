using TorchDoctor.Data;
using TorchDoctor.Inspection;
using TorchDoctor.Porting;

namespace TorchDoctor.Reporting;

/// <summary>
/// Writes a finished report (a summary, a data check, a porting check, a demo run) in one format
/// (BenchmarkDotNet's <c>IExporter</c>). Result types hold only data; every text and JSON rendering is an exporter.
/// </summary>
/// <typeparam name="TReport">The report type.</typeparam>
public interface IExporter<in TReport>
{
    /// <summary>The format name the exporter is chosen by: <c>text</c>, <c>json</c>, …</summary>
    string Format { get; }

    /// <summary>Writes <paramref name="report"/> to <paramref name="writer"/>.</summary>
    void Export(TReport report, TextWriter writer);
}

/// <summary>Base of exporters (BenchmarkDotNet's <c>ExporterBase</c>): implement <see cref="Render"/>.</summary>
/// <typeparam name="TReport">The report type.</typeparam>
public abstract class ExporterBase<TReport> : IExporter<TReport>
{
    /// <inheritdoc />
    public abstract string Format { get; }

    /// <summary>The report as one string, exactly as <see cref="Export"/> writes it.</summary>
    public abstract string Render(TReport report);

    /// <inheritdoc />
    public void Export(TReport report, TextWriter writer)
    {
        ArgumentNullException.ThrowIfNull(writer);
        writer.Write(Render(report));
    }
}

/// <summary>Settings of JSON exporters.</summary>
public sealed record JsonExportSettings
{
    /// <summary>Indent the JSON (default true).</summary>
    public bool Indented { get; init; } = true;
}

/// <summary>Display choices of the summary's table: which rows and columns a reader sees (not what was measured).</summary>
public sealed record SummaryExportSettings
{
    /// <summary>Rows deeper than this are hidden; totals still count them (torchinfo's <c>depth</c>, default 3).</summary>
    public int Depth { get; init; } = 3;
    /// <summary>Columns to show (default: output shape, params, trainable, kernel shape, mult-adds).</summary>
    public SummaryColumns Columns { get; init; } = SummaryColumns.Default;
}

/// <summary>The summary as torchinfo's text table plus TorchDoctor's additions.</summary>
public sealed class SummaryTextExporter(SummaryExportSettings? settings = null) : ExporterBase<SummaryReport>
{
    /// <summary>The display settings (a negative depth throws <see cref="ArgumentOutOfRangeException"/>).</summary>
    public SummaryExportSettings Settings { get; } = settings is { Depth: < 0 }
        ? throw new ArgumentOutOfRangeException(nameof(settings), settings.Depth, "SummaryExportSettings.Depth must be 0 or more.")
        : settings ?? new();
    /// <inheritdoc />
    public override string Format => "text";
    /// <inheritdoc />
    public override string Render(SummaryReport report) => SummaryText.Render(report, Settings);
}

/// <summary>The summary as JSON (every row, whatever the display depth).</summary>
public sealed class SummaryJsonExporter(JsonExportSettings? settings = null) : ExporterBase<SummaryReport>
{
    /// <summary>The JSON settings.</summary>
    public JsonExportSettings Settings { get; } = settings ?? new();
    /// <inheritdoc />
    public override string Format => "json";
    /// <inheritdoc />
    public override string Render(SummaryReport report) => SummaryJson.Render(report, Settings.Indented);
}

/// <summary>The data check as JSON.</summary>
public sealed class DataCheckJsonExporter(JsonExportSettings? settings = null) : ExporterBase<DataCheckReport>
{
    /// <summary>The JSON settings.</summary>
    public JsonExportSettings Settings { get; } = settings ?? new();
    /// <inheritdoc />
    public override string Format => "json";
    /// <inheritdoc />
    public override string Render(DataCheckReport report) => DataJson.Render(report, Settings.Indented);
}

/// <summary>The porting check as text.</summary>
public sealed class PortingTextExporter : ExporterBase<PortingReport>
{
    /// <inheritdoc />
    public override string Format => "text";
    /// <inheritdoc />
    public override string Render(PortingReport report) => PortingText.Render(report);
}

/// <summary>The porting check as JSON.</summary>
public sealed class PortingJsonExporter(JsonExportSettings? settings = null) : ExporterBase<PortingReport>
{
    /// <summary>The JSON settings.</summary>
    public JsonExportSettings Settings { get; } = settings ?? new();
    /// <inheritdoc />
    public override string Format => "json";
    /// <inheritdoc />
    public override string Render(PortingReport report) => PortingJson.Render(report, Settings.Indented);
}

/// <summary>
/// The exporters by report type and format. Built in: summary (text, json, html), data check (json, html), porting (text,
/// json), profile (text, json, chrome-trace, html);
/// other assemblies add theirs with <see cref="Register{TReport}"/> (the samples register the demo's JSON exporter).
/// </summary>
public static class Exporters
{
    private static readonly Lock Gate = new();
    private static readonly Dictionary<(Type, string), object> ByFormat = [];

    static Exporters()
    {
        Register(new SummaryTextExporter());
        Register(new SummaryJsonExporter());
        Register(new DataCheckJsonExporter());
        Register(new PortingTextExporter());
        Register(new PortingJsonExporter());
        Register(new SummaryHtmlExporter());
        Register(new DataCheckHtmlExporter());
        Register(new ProfileHtmlExporter());
        Register(new ProfileTextExporter());
        Register(new ProfileJsonExporter());
        Register(new ProfileChromeTraceExporter());
    }

    /// <summary>Adds or replaces the exporter for its report type and format.</summary>
    public static void Register<TReport>(IExporter<TReport> exporter)
    {
        ArgumentNullException.ThrowIfNull(exporter);
        lock (Gate) ByFormat[(typeof(TReport), exporter.Format.ToLowerInvariant())] = exporter;
    }

    /// <summary>The exporter of <typeparamref name="TReport"/> for <paramref name="format"/>; throws when there is none.</summary>
    public static IExporter<TReport> For<TReport>(string format)
    {
        lock (Gate)
            return ByFormat.TryGetValue((typeof(TReport), format.ToLowerInvariant()), out var e) ? (IExporter<TReport>)e
                : throw new ArgumentException($"No {format} exporter for {typeof(TReport).Name}; formats: {string.Join(", ", Formats<TReport>())}.", nameof(format));
    }

    /// <summary>The formats <typeparamref name="TReport"/> can be exported in.</summary>
    public static IReadOnlyList<string> Formats<TReport>()
    {
        lock (Gate) return ByFormat.Keys.Where(k => k.Item1 == typeof(TReport)).Select(k => k.Item2).Order(StringComparer.Ordinal).ToList();
    }

    /// <summary>The report in <paramref name="format"/> as a string.</summary>
    public static string Render<TReport>(TReport report, string format)
    {
        var e = For<TReport>(format);
        if (e is ExporterBase<TReport> b) return b.Render(report);
        using var w = new StringWriter();
        e.Export(report, w);
        return w.ToString();
    }
}
