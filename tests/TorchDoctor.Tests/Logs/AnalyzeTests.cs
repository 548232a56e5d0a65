using TorchDoctor.Observations;
using TorchDoctor.Findings;
using TorchDoctor.Logs;
using Xunit;

namespace TorchDoctor.Tests.Logs;

public sealed class AnalyzeTests : IDisposable
{
    private readonly string _root = Directory.CreateTempSubdirectory("td-analyze-").FullName;

    public void Dispose() => Directory.Delete(_root, true);

    [Fact]
    public void OverfittingRunNamesTheOnsetStepAndHealthyRunHasNoFinding()
    {
        SyntheticLogs.Write(Path.Combine(_root, "overfit"), overfit: true);
        SyntheticLogs.Write(Path.Combine(_root, "healthy"), overfit: false);
        var runs = LogAnalysis.Analyze([_root]);
        var over = runs.Single(r => r.Curves.Run == "overfit");
        var healthy = runs.Single(r => r.Curves.Run == "healthy");
        Assert.Equal("Loss/train", over.Curves.TrainLossTag);
        Assert.Equal("Loss/validation", over.Curves.ValLossTag);
        var f = Assert.Single(over.Findings);
        Assert.Equal(ConvergenceCodes.Overfitting.Code, f.Code);
        Assert.Equal(f.Step!.Value.ToString(System.Globalization.CultureInfo.InvariantCulture), f.Evidence["onset step"]);
        // Validation loss of the synthetic run is lowest at step 400 or 450 (its minimum, sampled every 50 steps).
        Assert.InRange(f.Step!.Value, 350, 450);
        Assert.Contains($"step {f.Step}", f.Message, StringComparison.Ordinal);
        Assert.Empty(healthy.Findings);
    }

    [Fact]
    public void CliComparesRunsSideBySideAndWritesJson()
    {
        SyntheticLogs.Write(Path.Combine(_root, "a"), overfit: true);
        SyntheticLogs.Write(Path.Combine(_root, "b"), overfit: false);
        var (code, stdout, _) = CliRunner.Run("analyze", _root, "--json");
        Assert.Equal(1, code);
        var json = CliRunner.Json(stdout);
        Assert.Equal(2, json.GetProperty("runs").GetArrayLength());
        var a = json.GetProperty("runs").EnumerateArray().Single(r => r.GetProperty("name").GetString() == "a");
        Assert.True(a.GetProperty("overfittingOnset").GetInt64() > 0);
        Assert.Equal("TD2101", json.GetProperty("findings")[0].GetProperty("code").GetString());
        var (code2, text, _) = CliRunner.Run("analyze", Path.Combine(_root, "b"));
        Assert.Equal(0, code2);
        Assert.Contains("No findings.", text, StringComparison.Ordinal);
        var (code3, _, _) = CliRunner.Run("analyze", Path.Combine(_root, "a"), "--fail-on", "error");
        Assert.Equal(0, code3);   // the overfitting finding is a warning
    }

    [Fact]
    public void TagsCanBeNamedAndMissingTagsAreExplained()
    {
        SyntheticLogs.Write(Path.Combine(_root, "r"), overfit: true);
        var named = LogAnalysis.Analyze([_root], trainTag: "Loss/train", valTag: "Accuracy/validation");
        Assert.Equal("Accuracy/validation", named[0].Curves.ValLossTag);
        var missing = LogAnalysis.Analyze([_root], valTag: "val/nope");
        Assert.Contains(missing[0].Notes, n => n.Contains("--val-tag 'val/nope' is not in this run", StringComparison.Ordinal));
        var (code, _, err) = CliRunner.Run("analyze", Path.Combine(_root, "nothing-here"));
        Assert.Equal(2, code);
        Assert.Contains("no such file or directory", err, StringComparison.Ordinal);
    }

    [Theory]
    [InlineData("loss", "val_loss")]
    [InlineData("train/loss", "val/loss")]
    [InlineData("epoch_loss", "epoch_val_loss")]
    [InlineData("Loss/train", "Loss/test")]
    [InlineData("training_loss", "validation_loss")]
    public void CommonTagNamesAreFound(string train, string val)
    {
        var log = new ScalarLog("r", "r");
        foreach (var t in new[] { train, val, "lr", "grad_norm/global", "train/accuracy" }) log.Add(t, new ScalarPoint(0, 1, 0));
        var c = CurveSets.Find(log);
        Assert.Equal(train, c.TrainLossTag);
        Assert.Equal(val, c.ValLossTag);
    }

    [Fact]
    public void NonFiniteAndDivergingLossesAreFoundAndAHealthyCurveIsNot()
    {
        ScalarLog Log(Func<int, double> f, int n = 300)
        {
            var log = new ScalarLog("r", "r");
            for (int s = 0; s < n; s++) log.Add("train/loss", new ScalarPoint(s, f(s), 0));
            return log;
        }
        var nan = LogAnalysis.Analyze(Log(s => s < 120 ? 2.0 - s / 100.0 : double.NaN));
        var f = Assert.Single(nan.Findings, x => x.Code == TrainingCodes.NonFiniteLoss.Code);
        Assert.Equal(120, f.Step);
        var blowup = LogAnalysis.Analyze(Log(s => s < 100 ? 2.0 - s / 100.0 : 1.0 * Math.Exp((s - 100) / 40.0)));
        Assert.Contains(blowup.Findings, x => x.Code == ConvergenceCodes.Divergence.Code);
        var good = LogAnalysis.Analyze(Log(s => 2.3 * Math.Exp(-s / 80.0) + 0.1));
        Assert.Empty(good.Findings);
    }
}
