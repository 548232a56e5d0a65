using TorchDoctor.Corpus;
using TorchDoctor.Findings;
using TorchSharp;
using Xunit;

namespace TorchDoctor.Tests.Corpus;

/// <summary>Runs the corpus programs of the capabilities that exist (bugs, fixed twins, clean programs) once for the class.</summary>
public sealed class CorpusRunFixture
{
    public CorpusRunFixture()
    {
        Cases = CorpusRunner.Discover();
        int threads = torch.get_num_threads();
        torch.set_num_threads(1);   // as the corpus command: deterministic numbers
        try
        {
            Results = Cases.Where(c => Capabilities.Existing.Contains(c.Info.Capability)).SelectMany(CorpusRunner.Run).ToList();
        }
        finally
        {
            torch.set_num_threads(threads);
        }
        Report = new CorpusReport(Results);
    }

    public IReadOnlyList<CorpusCase> Cases { get; }
    public IReadOnlyList<RunResult> Results { get; }
    public CorpusReport Report { get; }
}

/// <summary>
/// The corpus floor (docs/corpus.md): on every existing capability, recall ≥ 90% (right code and module) and no warning on a
/// fixed twin or clean program, on the held-out half and on all; no program throws; no run carries opposite remedies.
/// </summary>
public sealed class CorpusTests(CorpusRunFixture run) : IClassFixture<CorpusRunFixture>
{
    [Fact]
    public void Corpus_has_the_programs_the_issue_asks_for()
    {
        var bugs = run.Cases.Where(c => c.Info.Kind == CaseKind.Bug).ToList();
        Assert.True(bugs.Count >= 30, $"{bugs.Count} bug programs");
        Assert.True(run.Cases.Count(c => c.Info.Kind == CaseKind.Clean) >= 10);
        Assert.All(bugs, c => Assert.False(string.IsNullOrWhiteSpace(c.Info.Source)));
        // Both halves hold bugs and clean programs of the existing capabilities.
        foreach (var split in new[] { Split.Tune, Split.Holdout })
        {
            Assert.Contains(run.Cases, c => c.Info.Split == split && c.Info.Kind == CaseKind.Bug && Capabilities.Existing.Contains(c.Info.Capability));
            Assert.Contains(run.Cases, c => c.Info.Split == split && c.Info.Kind == CaseKind.Clean);
        }
    }

    [Fact]
    public void Split_is_a_fixed_function_of_the_id()
    {
        Assert.Equal(CaseInfo.SplitOf("adam-lr-too-high"), CaseInfo.SplitOf("adam-lr-too-high"));
        var splits = run.Cases.GroupBy(c => c.Info.Split).ToDictionary(g => g.Key, g => g.Count());
        Assert.True(splits[Split.Tune] >= run.Cases.Count / 3 && splits[Split.Holdout] >= run.Cases.Count / 3);
    }

    [Fact]
    public void No_program_throws()
        => Assert.Empty(run.Results.Where(r => r.Error is not null).Select(r => $"{r.Info.Id} ({r.Variant}): {r.Error}"));

    [Theory]
    [InlineData("holdout")]
    [InlineData("all")]
    public void Recall_is_at_least_90_percent(string split)
    {
        foreach (var s in run.Report.Scores().Where(x => x.Split == split))
            Assert.True(s.Recall >= 0.9, $"{s.Capability} {split}: {s.Detected}/{s.Bugs}\n{run.Report.ToText()}");
    }

    [Theory]
    [InlineData("holdout")]
    [InlineData("all")]
    public void Fixed_twins_and_clean_programs_are_quiet(string split)
    {
        foreach (var s in run.Report.Scores().Where(x => x.Split == split))
            Assert.True(s.FalseWarnings == 0, $"{s.Capability} {split}: {s.FalseWarnings} false warnings\n{run.Report.ToText()}");
    }

    [Fact]
    public void No_run_carries_opposite_remedies()
        => Assert.Empty(run.Results.SelectMany(r => Contradictions.In(r.Findings)
            .Select(c => $"{r.Info.Id} ({r.Variant}): {c.A.Code} {c.RemedyA} vs {c.B.Code} {c.RemedyB}")));

    [Fact]
    public void Opposite_remedies_are_detected()
    {
        // The catalogue's remedies (issue 9 §2): lr-too-high (lower it) against update-ratio-low (raise it).
        var lower = Finding.Create(ConvergenceCodes.LearningRateTooHigh, null, "m", "a");
        var raise = Finding.Create(TrainingCodes.UpdateRatioLow, "fc1", "m", "a");
        Assert.Single(Contradictions.In([lower, raise]));
        Assert.Empty(Contradictions.In([lower, Finding.Create(TrainingCodes.UpdateRatioHigh, "fc1", "m", "a")]));
        Assert.Empty(Contradictions.In([Finding.Create(TrainingCodes.DeadRelu, "relu1", "m", "a"), raise]));
    }

    [Fact]
    public void Every_detected_bug_has_a_quiet_fixed_twin()
        => Assert.All(run.Report.Scores().Where(x => x.Split == "all"), s => Assert.Equal(s.Detected, s.RemedyConfirmed));

    [Fact]
    public void Section_3_trial_programs_come_out_right()
    {
        // Correct sigmoid + binary_cross_entropy: no saturated output sigmoid, no explosion from a jump at tiny norms.
        var bce = run.Results.Single(r => r.Info.Id == "clean-binary-sigmoid-bce");
        Assert.Empty(bce.Warnings);
        // Adam lr 0.1: lr-too-high (lower the LR) and never update-ratio-low (raise it) in the same run; no dead-relu at relu1,
        // which is 74% zeros but whose units all fire for some sample of the run (a sparse layer, not a dead one).
        var adam = run.Results.Single(r => r.Info.Id == "adam-lr-too-high" && r.Variant == Variant.Bug);
        Assert.Contains(adam.Findings, f => f.Code == ConvergenceCodes.LearningRateTooHigh.Code);
        Assert.DoesNotContain(adam.Findings, f => f.Code == TrainingCodes.UpdateRatioLow.Code);
        Assert.DoesNotContain(adam.Findings, f => f.Code == TrainingCodes.DeadRelu.Code && f.Module == "relu1");
        // NaN made by the root module's own forward: named (root), never a blank.
        var root = run.Results.Single(r => r.Info.Id == "root-forward-log" && r.Variant == Variant.Bug);
        Assert.Contains(root.Findings, f => f.Code == TrainingCodes.NonFiniteForward.Code && f.Module == ModuleNames.Root);
        Assert.All(run.Results.SelectMany(r => r.Findings), f => Assert.NotEqual("", f.Module));
        Assert.All(run.Results.SelectMany(r => r.Findings), f => Assert.DoesNotContain(" at  ", f.Message, StringComparison.Ordinal));
    }

    [Fact]
    public void Issue_12_and_13_trial_programs_come_out_right()
    {
        RunResult Bug(string id) => run.Results.Single(r => r.Info.Id == id && r.Variant == Variant.Bug);
        // Sigmoid before binary_cross_entropy_with_logits: named at the sigmoid.
        Assert.Contains(Bug("sigmoid-into-bce-with-logits").Findings, f => f.Code == ConvergenceCodes.ProbabilitiesIntoLogitLoss.Code && f.Module == "sigmoid");
        // mse_loss of [N,1] against [N]: named, with the fix.
        var mse = Assert.Single(Bug("mse-target-broadcast").Findings, f => f.Code == ConvergenceCodes.TargetBroadcast.Code);
        Assert.Contains("unsqueeze(1)", mse.Advice, StringComparison.Ordinal);
        // A forgotten zero_grad().
        Assert.Contains(Bug("forgotten-zero-grad").Findings, f => f.Code == ConvergenceCodes.GradNotZeroed.Code);
        // Adam lr 0.1: named as an LR too high, and nothing in the run says the opposite.
        var adam = Bug("adam-lr-too-high");
        Assert.Contains(adam.Findings, f => f.Code == ConvergenceCodes.LearningRateTooHigh.Code);
        Assert.Empty(Contradictions.In(adam.Findings));
        // Issue 13: a list of losses, total = total + loss, one small tensor kept per step.
        Assert.Contains(Bug("losses-stored-as-tensors").Findings, f => f.Code == PerformanceCodes.TensorLeak.Code);
        Assert.Contains(Bug("running-loss-keeps-graph").Findings, f => f.Code == PerformanceCodes.GraphLeak.Code);
        Assert.Contains(Bug("small-tensor-cached-per-step").Findings, f => f.Code == PerformanceCodes.TensorLeak.Code);
    }
}
