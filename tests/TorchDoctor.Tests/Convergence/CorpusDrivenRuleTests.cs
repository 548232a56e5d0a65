using TorchDoctor.Detectors;
using TorchDoctor.Findings;
using TorchDoctor.Observations;
using Xunit;

namespace TorchDoctor.Tests.Convergence;

/// <summary>Rules added from the corpus (docs/corpus.md), at their boundaries: pure functions, no model.</summary>
public class CorpusDrivenRuleTests
{
    private static readonly CurveThresholds T = new();

    [Fact]
    public void A_frozen_parameter_under_a_decayed_learning_rate_is_named_lr_decayed()
    {
        var frozen = Finding.Create(TrainingCodes.FrozenParameter, "fc1", "m", "a", new Evidence { ["parameter"] = "fc1.weight" }, step: 193);
        // Below 1/1000 of the peak: the scheduler's decay is the cause.
        var f = CurveDetectors.DecayedLrFreezes(frozen, 0.99e-3 * 0.05, 0.05, T);
        Assert.NotNull(f);
        Assert.Equal(ConvergenceCodes.LearningRateDecayed.Code, f!.Code);
        Assert.Null(f.Module);
        Assert.Equal(193, f.Step);
        Assert.Contains("fc1.weight", f.Message, StringComparison.Ordinal);
        // At 1/1000 of the peak or above, or without a peak: not this cause.
        Assert.Null(CurveDetectors.DecayedLrFreezes(frozen, 1.01e-3 * 0.05, 0.05, T));
        Assert.Null(CurveDetectors.DecayedLrFreezes(frozen, 0, 0, T));
        Assert.Null(CurveDetectors.DecayedLrFreezes(frozen, null, 0.05, T));
        // Only frozen-parameter findings are rewritten.
        Assert.Null(CurveDetectors.DecayedLrFreezes(Finding.Create(TrainingCodes.DeadRelu, "relu1", "m", "a"), 1e-9, 0.05, T));
    }

    [Fact]
    public void Training_batches_sorted_by_label_are_TD3019_and_shuffled_ones_are_not()
    {
        var th = new DataThresholds();
        // 20 batches of 64 read in file order from data sorted by 5 labels: runs of ~400.
        var sorted = Enumerable.Range(0, 20 * 64).Select(i => (long)(i / 410)).ToList();
        var f = DataDetectors.SortedTrainingBatches(sorted, 64, 20, 19, th);
        Assert.Equal(DataCodes.UnshuffledSorted.Code, f?.Code);
        Assert.Null(f!.Module);
        // A random order of the same labels: mean run ~1.25.
        var rng = new Random(1);
        var shuffled = sorted.OrderBy(_ => rng.Next()).ToList();
        Assert.Null(DataDetectors.SortedTrainingBatches(shuffled, 64, 20, 19, th));
        // One label only, or a single batch: nothing to say.
        Assert.Null(DataDetectors.SortedTrainingBatches(Enumerable.Repeat(3L, 128).ToList(), 64, 2, 1, th));
        Assert.Null(DataDetectors.SortedTrainingBatches(sorted.Take(64).ToList(), 64, 1, 0, th));
        // The boundary: a mean run of 8 (and ≥ 4× the random run) is sorted, a mean run of 7 is not.
        var runs8 = Enumerable.Range(0, 640).Select(i => (long)(i / 8 % 5)).ToList();
        var runs7 = Enumerable.Range(0, 700).Select(i => (long)(i / 7 % 5)).ToList();
        Assert.NotNull(DataDetectors.SortedTrainingBatches(runs8, 64, 10, 9, th));
        Assert.Null(DataDetectors.SortedTrainingBatches(runs7, 70, 10, 9, th));
    }

    [Fact]
    public void Adam_above_0_01_whose_loss_diverges_is_lr_too_high_and_the_divergence_is_its_symptom()
    {
        // Falls from 2.3 to 0.05, then climbs back to 1.0: a divergence (≥ the factor × best) at Adam lr 0.1.
        var losses = Enumerable.Range(0, 40).Select(i => 2.3 * Math.Exp(-0.1 * i)).Concat(Enumerable.Repeat(1.0, 20)).ToList();
        TrainingCurve Curve(double lr) => new()
        {
            Steps = losses.Select((x, i) => new StepRecord(i, x, lr)).ToList(),
            InitialLosses = losses.Take(20).ToList(),
            Optimizer = "Adam",
        };
        var all = CurveDetectors.Detect(Curve(0.1));
        var high = Assert.Single(all, f => f.Code == ConvergenceCodes.LearningRateTooHigh.Code);
        Assert.Equal($"{ConvergenceCodes.Divergence.Code} {ConvergenceCodes.Divergence.Slug}", high.Evidence["symptom"]);
        Assert.DoesNotContain(all, f => f.Code == ConvergenceCodes.Divergence.Code);
        // At lr 0.01 the same curve is a divergence without a named learning rate.
        var low = CurveDetectors.Detect(Curve(0.01));
        Assert.DoesNotContain(low, f => f.Code == ConvergenceCodes.LearningRateTooHigh.Code);
        Assert.Contains(low, f => f.Code == ConvergenceCodes.Divergence.Code);
    }
}
