using Microsoft.DotNet.Interactive.Formatting;
using TorchDoctor.Findings;
using TorchDoctor.Inspection;
using TorchDoctor.Interactive;
using TorchDoctor.Logs;
using TorchDoctor.Models;
using TorchDoctor.Profiling;
using TorchDoctor.Reporting;
using TorchDoctor.Tests.Cli;
using TorchSharp;
using Xunit;
using static TorchSharp.torch;

namespace TorchDoctor.Tests.Reporting;

/// <summary>--report on summary, check-data, profile and demo; the html exporters; notebook formatters; the memory timeline and sample grid in the sinks.</summary>
public sealed class ReportExportTests : IDisposable
{
    private readonly string _root = Directory.CreateTempSubdirectory("td-export-").FullName;

    public void Dispose() => Directory.Delete(_root, true);

    [Fact]
    public void Summary_html_exporter_writes_the_model_table_and_the_findings()
    {
        using var m = ModelZoo.Find("tied-lm")!.Create();
        var report = ModelSummary.Run(m, new SummaryOptions { InputShapes = [[1, 16]], InputDTypes = [ScalarType.Int64], MeasureMemory = false });
        var html = Exporters.Render(report, "html");
        Assert.Contains("<h2>Model: ", html, StringComparison.Ordinal);
        foreach (var row in report.Rows.Where(r => r.Depth is > 0 and <= 3))
            Assert.Contains("<td>" + System.Net.WebUtility.HtmlEncode(row.Path) + "</td>", html, StringComparison.Ordinal);
        Assert.NotEmpty(report.Findings);   // tied weights
        foreach (var f in report.Findings) Assert.Contains(f.Code, html, StringComparison.Ordinal);
        Assert.Contains(report.TotalParams.ToString("N0", System.Globalization.CultureInfo.InvariantCulture), html, StringComparison.Ordinal);
    }

    [Fact]
    public void Profile_report_model_holds_every_module_and_the_phases()
    {
        torch.manual_seed(1);
        using var mlp = (nn.Module<Tensor, Tensor>)ModelZoo.Find("mlp")!.Create();
        using var scope = NewDisposeScope();
        var x = rand([8, 784]);
        var y = randint(0, 10, [8]);
        var opt = optim.SGD(mlp.parameters(), 1e-3);
        ProfileReport report;
        using (var prof = Profiler.Attach(mlp, new ProfilerOptions { Schedule = new ProfileSchedule(1, 1, 2) }))
        {
            for (int s = 0; s < 4; s++)
            {
                using var stepScope = NewDisposeScope();
                prof.BeginStep();
                Tensor output, loss;
                using (prof.Phase(StepPhase.Forward)) output = mlp.call(x);
                using (prof.Phase(StepPhase.Loss)) loss = nn.functional.cross_entropy(output, y);
                using (prof.Phase(StepPhase.Backward)) loss.backward();
                using (prof.Phase(StepPhase.OptimizerStep)) { opt.step(); opt.zero_grad(); }
                prof.EndStep();
            }
            report = prof.Report();
        }
        var profile = ReportProfile.From(report, "mlp");
        Assert.Equal(report.Modules.Count, profile.Modules.Count);
        Assert.Equal(report.Sorted("self").First().Module, profile.Modules[0].Module);
        Assert.Equal(["forward", "loss", "backward", "optimizer step"], profile.Phases.Select(p => p.Phase).Where(p => p != "outside phases"));
        var html = Exporters.Render(report, "html");
        Assert.Contains("\"profiles\":[{\"title\":\"a model\"", html, StringComparison.Ordinal);
        Assert.Contains("Time per module and step", html, StringComparison.Ordinal);
    }

    [Fact]
    public void Summary_profile_and_check_data_take_report()
    {
        var summary = Path.Combine(_root, "summary.html");
        var (c1, _, _) = CliRunner.Run("summary", "--model", "mlp", "--no-measure", "--report", summary);
        Assert.Equal(0, c1);
        Assert.Contains("<h2>Model: ", File.ReadAllText(summary), StringComparison.Ordinal);

        var profile = Path.Combine(_root, "profile.html");
        var (c2, _, _) = CliRunner.Run("profile", "--model", "mlp", "--input", "8,784", "--steps", "1", "--report", profile);
        Assert.Equal(0, c2);
        var p = File.ReadAllText(profile);
        Assert.Contains("\"modules\":[[\"", p, StringComparison.Ordinal);
        Assert.Contains("\"phases\":[[\"forward\"", p, StringComparison.Ordinal);

        var data = Path.Combine(_root, "data.html");
        var photos = Path.Combine(LintCliTests.RepoRoot(), "examples", "photos");
        var (c3, _, _) = CliRunner.Run("check-data", "--images", photos, "--report", data);
        Assert.True(c3 is 0 or 1);
        var d = File.ReadAllText(data);
        Assert.Contains("data check of Images", d, StringComparison.Ordinal);
        Assert.Contains("\"grids\":[{\"title\":\"Samples per class", d, StringComparison.Ordinal);
        foreach (var cls in new[] { "circle", "square", "stripes" }) Assert.Contains($"\"label\":\"{cls}\"", d, StringComparison.Ordinal);
    }

    [Fact]
    public void Notebook_formatters_show_summaries_data_checks_and_findings_as_html_tables()
    {
        NotebookFormatters.Register();
        using var m = ModelZoo.Find("mlp")!.Create();
        var summary = ModelSummary.Run(m, new SummaryOptions { InputShapes = [[1, 784]], MeasureMemory = false });
        var html = summary.ToDisplayString(HtmlFormatter.MimeType);
        Assert.StartsWith("<div class=\"torchdoctor\">", html, StringComparison.Ordinal);
        Assert.Contains("<table class=\"data\">", html, StringComparison.Ordinal);
        Assert.Contains("<td>" + summary.Rows.First(r => r.IsLeaf).Path + "</td>", html, StringComparison.Ordinal);
        Assert.DoesNotContain("<script", html, StringComparison.Ordinal);

        var finding = new Finding("TD2001", "exploding-gradients", Severity.Error, "fc1", 12, "Gradient norm 1e6 at fc1 <b>",
            new Evidence { ["gradNorm"] = "1e6" }, "Clip the gradients.");
        var list = (IReadOnlyList<Finding>)new List<Finding> { finding };
        var fh = list.ToDisplayString(HtmlFormatter.MimeType);
        Assert.Contains("class=\"finding error\"", fh, StringComparison.Ordinal);
        Assert.Contains("TD2001", fh, StringComparison.Ordinal);
        Assert.Contains("&lt;b&gt;", fh, StringComparison.Ordinal);
        Assert.Contains("<th>gradNorm</th><td>1e6</td>", fh, StringComparison.Ordinal);
        Assert.Contains("Clip the gradients.", fh, StringComparison.Ordinal);
        Assert.Contains("TD2001", finding.ToDisplayString(HtmlFormatter.MimeType), StringComparison.Ordinal);

        var data = TorchDoctor.Data.DatasetChecker.Check([new TorchDoctor.Data.DataSplit("train", new TorchDoctor.Data.ImageFolderDataset(Path.Combine(LintCliTests.RepoRoot(), "examples", "photos"), true))], new TorchDoctor.Data.DataCheckOptions());
        var dh = data.ToDisplayString(HtmlFormatter.MimeType);
        Assert.Contains("<th>Field</th>", dh, StringComparison.Ordinal);
        Assert.Contains("classes (3 from", dh, StringComparison.Ordinal);
    }

    [Fact]
    public void Run_sinks_record_the_memory_timeline_and_tensorboard_gets_the_sample_grid()
    {
        var dir = HtmlReportTests.RecordRun(Path.Combine(_root, "rec"), steps: 20);
        var jsonl = RunLogReader.Read(Path.Combine(dir, JsonlRunLog.FileName));
        var live = jsonl.Get(RunTags.LiveTensors);
        Assert.Equal(Enumerable.Range(0, 20).Select(i => (long)i), live.Select(p => p.Step));
        Assert.All(live, p => Assert.True(p.Value > 0));
        Assert.NotEmpty(jsonl.Get(RunTags.LiveTensorsAfterCollect));
        Assert.Equal(20, ReportRun.From(jsonl).LiveTensors.Count);

        var tbDir = Path.Combine(_root, "tb");
        var samples = new Observations.ImageSamples("x", 1, 3, 2, [(0, [0, 1, 2, 3, 4, 5]), (0, [5, 4, 3, 2, 1, 0]), (1, [1, 1, 1, 1, 1, 1])]);
        using (var tb = new TensorBoardSink(tbDir)) tb.AddSampleGrid(ReportModels.Grid(samples, "grid"));
        var images = new List<Tensorboard.Summary.Types.Image>();
        foreach (var file in Directory.GetFiles(tbDir))
        {
            var bytes = File.ReadAllBytes(file);
            for (int at = 0; at + 12 <= bytes.Length;)
            {
                long len = BitConverter.ToInt64(bytes, at);
                var ev = Tensorboard.Event.Parser.ParseFrom(bytes, at + 12, (int)len);
                if (ev.Summary is not null) images.AddRange(ev.Summary.Value.Where(v => v.Image is not null).Select(v => v.Image));
                at += 12 + (int)len + 4;
            }
        }
        var image = Assert.Single(images);
        // Two class rows of 3-pixel-high images, two columns of 2-pixel-wide images, one pixel of padding around each.
        Assert.Equal(2 * (3 + 1) + 1, image.Height);
        Assert.Equal(2 * (2 + 1) + 1, image.Width);
        Assert.True(image.EncodedImageString.Length > 8);
        Assert.Equal(0x89, image.EncodedImageString[0]);   // PNG
    }

    [Fact]
    public void AttachDoctor_with_a_run_directory_writes_the_html_report_when_the_run_ends()
    {
        torch.manual_seed(2);
        var dir = Path.Combine(_root, "attached");
        using var model = nn.Sequential(("fc1", nn.Linear(8, 16)), ("relu1", nn.ReLU()), ("fc2", nn.Linear(16, 3)));
        var opt = optim.SGD(model.parameters(), 0.1);
        using var gen = new Generator(5);
        var x = randn([64, 8], generator: gen);
        var y = randint(3, [64], generator: gen);
        using (var doctor = model.AttachDoctor(opt, runDirectory: dir))
        {
            for (int s = 0; s < 30; s++)
            {
                using var scope = NewDisposeScope();
                doctor.BeginStep();
                opt.zero_grad();
                var loss = nn.functional.cross_entropy(model.call(x), y);
                loss.backward();
                doctor.AfterBackward(loss);
                opt.step();
                doctor.EndStep();
            }
            Assert.False(File.Exists(Path.Combine(dir, RunSinks.ReportFileName)));   // written when the run ends
        }
        var html = File.ReadAllText(Path.Combine(dir, RunSinks.ReportFileName));
        Assert.Contains("\"loss\":{\"train/loss\":[[0,", html, StringComparison.Ordinal);
        Assert.Contains("\"live\":[[0,", html, StringComparison.Ordinal);
        Assert.Contains("\"grad\":{\"modules\":[\"fc1\",\"fc2\"]", html, StringComparison.Ordinal);
    }

    [Fact]
    public void Html_report_sink_keeps_bounded_series()
    {
        var sink = new HtmlReportSink(Path.Combine(_root, "bounded.html"));
        for (int s = 0; s < 3 * HtmlReportSink.MaxPointsPerSeries; s++) sink.OnScalar("val/loss", s, s);
        var run = Assert.Single(sink.Model().Runs);
        var points = run.Loss["val/loss"];
        Assert.InRange(points.Count, HtmlReportSink.MaxPointsPerSeries / 2, HtmlReportSink.MaxPointsPerSeries);
        Assert.Equal(0, points[0].Step);
        // Merged points are means of neighbours: the first is the mean of 0..2^k-1, and the series still rises.
        Assert.True(long.IsPow2((long)(2 * points[0].Value + 1)) && points[0].Value >= 0.5, $"first point {points[0].Value}");
        Assert.True(points.Zip(points.Skip(1)).All(p => p.Second.Value > p.First.Value && p.Second.Step > p.First.Step));
    }
}
