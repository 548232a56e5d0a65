using TorchDoctor.Findings;
using TorchDoctor.Profiling;
using TorchDoctor.Reporting;
using Xunit;

namespace TorchDoctor.Tests.Profiling;

/// <summary>
/// The profile's renderings (table, Chrome trace, JSON) on a fixed report. The expected files were written by the
/// renderings as they were inside <see cref="ProfileReport"/> before they moved to the exporters: same output.
/// </summary>
public class ProfileExportTests
{
    internal static ProfileReport Fixed()
    {
        var calls = new List<ModuleCallTiming>
        {
            new("", "Sequential", -1, 900, 100, 1500, 4096, 0),
            new("conv1", "Conv2d", 0, 500, 500, 800, 65536, 8192),
            new("layer1.0.very_long_module_name_that_is_trimmed", "ReLU", 0, 300, 300, 700, 65536, 65536),
        };
        var spans = new List<ProfileSpan>
        {
            new("step", "step", 0, 0, 3000),
            new("forward", "phase", 0, 10, 1000),
            new("(model)", "forward", 0, 20, 900, "Sequential"),
            new("conv1", "forward", 0, 30, 500, "Conv2d"),
            new("layer1.0.very_long_module_name_that_is_trimmed", "forward", 0, 540, 300, "ReLU"),
            new("backward", "phase", 0, 1100, 1600),
            new("(model)", "backward", 0, 1150, 1500, "Sequential"),
            new("log", "region", 0, 2800, 150),
        };
        var step = new ProfiledStep(0, 3000, calls, spans, new Dictionary<string, long> { ["forward"] = 12, ["backward"] = 3 });
        return new ProfileReport
        {
            Steps = [step],
            Modules =
            [
                new("(model)", "Sequential", 1, 0.1, 0.9, 0.0, 1.5, 4096, 0, 0),
                new("conv1", "Conv2d", 1, 0.5, 0.5, 0.8, 0.8, 65536, 8192, 416),
                new("layer1.0.very_long_module_name_that_is_trimmed", "ReLU", 2, 0.3, 0.3, 0.7, 0.7, 65536, 65536, 0),
            ],
            Phases = [new("forward", "phase", 1.0, 1.0 / 3, 12), new("backward", "phase", 1.6, 1.6 / 3, 3), new("log", "region", 0.15, 0.05, 0)],
            StepMs = 3.0, ForwardMs = 1.0, ModelForwardMs = 0.9, ModuleForwardSelfMs = 0.9, ModelBackwardMs = 1.5, OtherMs = 0.4, UnexplainedMs = 0.25,
        };
    }

    internal static IReadOnlyList<Finding> Findings() =>
    [
        Finding.Create(PerformanceCodes.DominantModule, "conv1", "conv1 takes 43% of the step.", "Optimise conv1 first.",
            new Evidence { ["self ms"] = "1.3", ["model ms"] = "2.4" }),
    ];

    private static string Expected(string name) => File.ReadAllText(Path.Combine(AppContext.BaseDirectory, "Fixtures", "profile", name));

    [Fact]
    public void The_text_exporter_renders_the_table_as_the_report_did()
    {
        Assert.Equal(Expected("table-self.txt"), new ProfileTextExporter().Render(Fixed()));
        Assert.Equal(Expected("table-calls-2.txt"), new ProfileTextExporter(new ProfileExportSettings { Sort = "calls", RowLimit = 2 }).Render(Fixed()));
        Assert.Equal(Expected("table-self.txt"), Exporters.Render(Fixed(), "text"));
    }

    [Fact]
    public void The_trace_and_json_exporters_render_as_the_report_did()
    {
        Assert.Equal(Expected("trace.json"), new ProfileChromeTraceExporter().Render(Fixed()));
        Assert.Equal(Expected("trace.json"), Exporters.Render(Fixed(), "chrome-trace"));
        Assert.Equal(Expected("report.json"), new ProfileJsonExporter(findings: Findings()).Render(Fixed()));
    }

    [Fact]
    public void The_console_renderer_writes_the_exporter_table_between_its_title_and_the_inference_line()
    {
        var w = new StringWriter();
        TorchDoctor.Cli.Rendering.ProfileConsole.WriteText(w, "title", Fixed(), new ProfileExportSettings(), new GradModeCost(2048, 1024), Findings(), null);
        var text = w.ToString();
        Assert.StartsWith("title" + Environment.NewLine + Expected("table-self.txt") + "Inference (eval mode) on this input holds 2 KB", text);
        Assert.Contains("TD6003", text);
    }
}
