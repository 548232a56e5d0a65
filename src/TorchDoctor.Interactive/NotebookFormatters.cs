using Microsoft.DotNet.Interactive.Formatting;
using TorchDoctor.Data;
using TorchDoctor.Findings;
using TorchDoctor.Inspection;
using TorchDoctor.Profiling;
using TorchDoctor.Reporting;
using TorchDoctor.Training;

namespace TorchDoctor.Interactive;

/// <summary>
/// HTML formatters for Polyglot Notebooks (.NET Interactive): once registered, a model summary, a data check, a profile,
/// a doctor (its findings) or a list of findings shown as a cell's result displays as HTML tables inline, the same
/// findings and tables as the HTML report (<see cref="HtmlReport.Fragment"/>).
/// <code>
/// #r "nuget: TorchDoctor.Interactive"
/// TorchDoctor.Interactive.NotebookFormatters.Register();
/// model.Summary([1, 1, 28, 28])      // a table, not ToString()
/// </code>
/// </summary>
public static class NotebookFormatters
{
    /// <summary>The MIME type the formatters write.</summary>
    public const string MimeType = HtmlFormatter.MimeType;

    private static readonly Lock Gate = new();
    private static bool _registered;

    /// <summary>Registers the formatters (once; later calls do nothing).</summary>
    public static void Register()
    {
        lock (Gate)
        {
            if (_registered) return;
            Formatter.Register<SummaryReport>((r, w) => w.Write(Html(r)), MimeType);
            Formatter.Register<DataCheckReport>((r, w) => w.Write(Html(r)), MimeType);
            Formatter.Register<ProfileReport>((r, w) => w.Write(Html(r)), MimeType);
            Formatter.Register<Doctor>((d, w) => w.Write(Html(d)), MimeType);
            Formatter.Register<IReadOnlyList<Finding>>((f, w) => w.Write(Html(f)), MimeType);
            Formatter.Register<Finding>((f, w) => w.Write(Html([f])), MimeType);
            _registered = true;
        }
    }

    /// <summary>A summary: findings (and the forward failure), the model table, totals and sizes.</summary>
    public static string Html(SummaryReport report) => HtmlReport.Fragment(ReportModels.From(report));

    /// <summary>A data check: findings, field tables and class histograms per split.</summary>
    public static string Html(DataCheckReport report) => HtmlReport.Fragment(ReportModels.From(report, "a data set"));

    /// <summary>A profile: findings and the per-module table.</summary>
    public static string Html(ProfileReport report) => HtmlReport.Fragment(ReportModels.From(report, ProfileDetector.Detect(report), "a model"));

    /// <summary>A run's findings so far (what, where, evidence, fix).</summary>
    public static string Html(Doctor doctor)
    {
        ArgumentNullException.ThrowIfNull(doctor);
        var model = new ReportModel { Title = "TorchDoctor: findings of the run", Subtitle = $"step {doctor.Step}" };
        model.Findings.AddRange(doctor.Findings);
        return HtmlReport.Fragment(model);
    }

    /// <summary>Findings (what, where, evidence, fix).</summary>
    public static string Html(IReadOnlyList<Finding> findings)
    {
        ArgumentNullException.ThrowIfNull(findings);
        var model = new ReportModel { Title = "TorchDoctor findings" };
        model.Findings.AddRange(findings);
        return HtmlReport.Fragment(model);
    }
}
