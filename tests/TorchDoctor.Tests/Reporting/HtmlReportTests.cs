using TorchDoctor.Logs;
using TorchDoctor.Reporting;
using TorchDoctor.Tests.Logs;
using TorchDoctor.Training;
using TorchSharp;
using Xunit;
using static TorchSharp.torch;

namespace TorchDoctor.Tests.Reporting;

public sealed class HtmlReportTests : IDisposable
{
    private readonly string _root = Directory.CreateTempSubdirectory("td-report-").FullName;

    public void Dispose() => Directory.Delete(_root, true);

    /// <summary>A short real training run recorded with the sinks: curves, LR, grad norms, dead fractions, memory.</summary>
    internal static string RecordRun(string dir, int steps = 40)
    {
        torch.manual_seed(3);
        using var model = nn.Sequential(("fc1", nn.Linear(8, 16)), ("relu1", nn.ReLU()), ("fc2", nn.Linear(16, 3)));
        var opt = optim.SGD(model.parameters(), 0.1);
        using var gen = new Generator(5);
        var x = randn([64, 8], generator: gen);
        var y = randint(3, [64], generator: gen);
        using (var doctor = Doctor.Attach(model, opt, new DoctorOptions { SampleInterval = 5, Sinks = RunSinks.ForDirectory(dir) }))
        {
            for (int s = 0; s < steps; s++)
            {
                using var scope = NewDisposeScope();
                doctor.BeginStep();
                opt.zero_grad();
                var loss = nn.functional.cross_entropy(model.call(x), y);
                loss.backward();
                doctor.AfterBackward(loss);
                opt.step();
                doctor.EndStep();
                if (s % 5 == 4) doctor.LogScalar("val/loss", loss.item<float>() * 1.1);
            }
        }
        return dir;
    }

    private ReportModel FullModel()
    {
        SyntheticLogs.Write(Path.Combine(_root, "logs", "overfit"), overfit: true);
        RecordRun(Path.Combine(_root, "logs", "recorded"));
        var model = new ReportModel { Title = "test report <&>", Subtitle = "every chart kind" };
        foreach (var r in LogAnalysis.Analyze([Path.Combine(_root, "logs")]))
        {
            model.Findings.AddRange(r.Findings);
            model.Runs.Add(ReportRun.From(r));
        }
        model.Tables.Add(new ReportTable("Model", ["Layer", "Params"], [["fc1", "144"], ["fc2", "51"]]));
        model.SampleGrids.Add(new SampleGrid("Samples", 1, 4, 4, [("class 0", Enumerable.Range(0, 16).Select(i => i / 15f).ToArray())]));
        return model;
    }

    [Fact]
    public void PageIsSelfContainedAndEscaped()
    {
        var html = HtmlReport.Render(FullModel());
        Assert.DoesNotContain("src=\"http", html, StringComparison.Ordinal);
        Assert.DoesNotContain("href=\"http", html, StringComparison.Ordinal);
        Assert.DoesNotContain("@import", html, StringComparison.Ordinal);
        Assert.Contains("test report &lt;&amp;&gt;", html, StringComparison.Ordinal);
        // Findings come before the charts.
        Assert.True(html.IndexOf("id=\"findings\"", StringComparison.Ordinal) < html.IndexOf("id=\"runs\"", StringComparison.Ordinal));
        Assert.Contains("TD2101", html, StringComparison.Ordinal);
        Assert.Contains("\"onset\":", html, StringComparison.Ordinal);   // the overfitting onset, marked on the loss chart
    }

    [ChromiumFact]
    public void RendersEveryChartInHeadlessChromiumWithoutErrors()
    {
        var path = Path.Combine(_root, "report.html");
        HtmlReport.Write(FullModel(), path);
        var (dom, consoleErrors) = Chromium.Load(path);
        Assert.Empty(consoleErrors);
        Assert.Equal(0, Chromium.BodyAttribute(dom, "data-errors"));
        // overfit run: loss + accuracy; recorded run: loss, lr, heatmap, dead fractions, memory; one sample grid.
        Assert.Equal(8, Chromium.BodyAttribute(dom, "data-charts"));
        foreach (var kind in new[] { "Loss", "Accuracy", "Learning rate", "Gradient norm per layer (log10)", "Dead-unit fraction (ReLU)", "Memory timeline", "samples" })
            Assert.Contains($"data-chart=\"{kind}\"", dom, StringComparison.Ordinal);
    }

    /// <summary>
    /// Every chart kind of a demo report (what `demo all` writes, from one short case to stay fast; the overfitting onset
    /// marker is checked on the analysed log above).
    /// </summary>
    internal static readonly string[] DemoChartKinds =
    [
        "Loss", "Accuracy", "Learning rate", "Gradient norm per layer (log10)", "Dead-unit fraction (ReLU)", "Memory timeline",
        "Profiler: self time per module", "Profiler: step phases", "samples",
    ];

    [ChromiumFact]
    public void A_demo_report_has_every_chart_kind_and_renders_without_errors()
    {
        var path = Path.Combine(_root, "demo.html");
        var (code, _, err) = CliRunner.Run("demo", "overfitting", "--steps", "40", "--no-fix", "--report", path);
        Assert.True(code is 0 or 1, err);
        var html = File.ReadAllText(path);
        Assert.Contains("<h2>Model: the demos&#39; CNN (mnist-cnn)", html, StringComparison.Ordinal);   // the model table
        var (dom, consoleErrors) = Chromium.Load(path);
        Assert.Empty(consoleErrors);
        Assert.Equal(0, Chromium.BodyAttribute(dom, "data-errors"));
        foreach (var kind in DemoChartKinds)
            Assert.Contains($"data-chart=\"{kind}\"", dom, StringComparison.Ordinal);
    }

    [Fact]
    public void EventFilesOfARecordedRunHoldEveryScalarTheRunLogHolds()
    {
        var dir = RecordRun(Path.Combine(_root, "rec"));
        var events = new ScalarLog("e", dir);
        foreach (var f in Directory.GetFiles(dir).Where(EventFileReader.IsEventFile)) EventFileReader.ReadInto(f, events);
        var jsonl = RunLogReader.Read(Path.Combine(dir, JsonlRunLog.FileName));
        Assert.Empty(events.Problems);
        Assert.Empty(jsonl.Problems);
        Assert.True(jsonl.RunLog!.Completed);
        // Every scalar the run logged (every tag, every step) reads back from the event files equal (as float: SummaryWriter stores float32).
        Assert.Equal(jsonl.Tags.Where(t => t != RunTags.MemoryMb), events.Tags.Where(t => t != RunTags.MemoryMb));
        foreach (var tag in jsonl.Tags)
        {
            var a = jsonl.Get(tag);
            var b = events.Get(tag);
            Assert.Equal(a.Select(p => p.Step), b.Select(p => p.Step));
            if (tag == RunTags.MemoryMb) continue;   // bytes in the log, MiB in TensorBoard (checked by step only)
            Assert.Equal(a.Select(p => (float)p.Value), b.Select(p => (float)p.Value));
        }
        Assert.Equal(40, events.Get(RunTags.Loss).Count);
        Assert.True(events.Get(RunTags.GradNormPrefix + "fc1").Count >= 8);
    }
}
