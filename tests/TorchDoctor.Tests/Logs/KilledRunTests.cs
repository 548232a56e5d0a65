using System.Diagnostics;
using TorchDoctor.Logs;
using TorchDoctor.Reporting;
using Xunit;

namespace TorchDoctor.Tests.Logs;

public sealed class KilledRunTests : IDisposable
{
    private readonly string _root = Directory.CreateTempSubdirectory("td-killed-").FullName;

    public void Dispose() => Directory.Delete(_root, true);

    [Fact]
    public void RunKilledMidTrainingLeavesALogThatAnalyzeAndTheReportUse()
    {
        // A real training process (the dead-relu demo, far more steps than it will get), killed once it has logged 12 steps.
        var psi = new ProcessStartInfo("dotnet") { RedirectStandardOutput = true, RedirectStandardError = true };
        foreach (var a in new[] { Path.Combine(AppContext.BaseDirectory, "TorchDoctor.Cli.dll"), "demo", "dead-relu", "--steps", "1000000", "--no-fix", "--run-dir", _root, "--quiet" })
            psi.ArgumentList.Add(a);
        var log = Path.Combine(_root, "dead-relu", "before", JsonlRunLog.FileName);
        using (var p = Process.Start(psi)!)
        {
            _ = p.StandardOutput.ReadToEndAsync();
            _ = p.StandardError.ReadToEndAsync();
            var deadline = DateTime.UtcNow.AddMinutes(4);
            while (DateTime.UtcNow < deadline && !p.HasExited && StepLines(log) < 12) Thread.Sleep(200);
            Assert.False(p.HasExited, "the training process ended before it was killed");
            p.Kill(entireProcessTree: true);
            p.WaitForExit();
        }
        Assert.True(StepLines(log) >= 12);

        var fromLog = RunLogReader.Read(log);
        Assert.False(fromLog.RunLog!.Completed);
        Assert.True(fromLog.Get(RunTags.Loss).Count >= 12);
        Assert.DoesNotContain(fromLog.Problems, p => !p.IsTruncation);

        var runs = LogAnalysis.Analyze([_root]);
        var run = Assert.Single(runs);
        Assert.True(run.Curves.TrainLoss.Count >= 12);
        Assert.Equal("val/loss", run.Curves.ValLossTag);
        Assert.Contains(run.Notes, n => n.Contains("no end record", StringComparison.Ordinal));
        Assert.DoesNotContain(run.Findings, f => f.Code == TorchDoctor.Findings.LogCodes.LogDamaged.Code);

        // The JSONL alone (no event files) serves too.
        File.Delete(Directory.GetFiles(Path.GetDirectoryName(log)!).Single(EventFileReader.IsEventFile));
        var jsonOnly = Assert.Single(LogAnalysis.Analyze([_root]));
        Assert.True(jsonOnly.Curves.TrainLoss.Count >= 12);
        var model = new ReportModel();
        model.Runs.Add(ReportRun.From(jsonOnly));
        var html = HtmlReport.Render(model);
        Assert.Contains("\"train/loss\":[[0,", html, StringComparison.Ordinal);
    }

    private static int StepLines(string path)
    {
        if (!File.Exists(path)) return 0;
        using var fs = new FileStream(path, FileMode.Open, FileAccess.Read, FileShare.ReadWrite);
        using var r = new StreamReader(fs);
        return r.ReadToEnd().Split('\n').Count(l => l.Contains("\"type\":\"step\"", StringComparison.Ordinal));
    }
}
