using TorchDoctor.Detectors;
using TorchDoctor.Findings;
using TorchDoctor.Observations;
using Xunit;

namespace TorchDoctor.Tests.Convergence;

/// <summary>Curve rules at their boundaries, from synthetic curves; healthy noisy curves give no finding.</summary>
public class CurveDetectorTests
{
    private static readonly CurveThresholds T = new();

    private static TrainingCurve Epochs(double[] train, double[]? val = null, double[]? trainAcc = null, double[]? valAcc = null, double[]? lr = null)
        => new()
        {
            Epochs = train.Select((l, i) => new EpochRecord
            {
                Epoch = i, TrainLoss = l, ValLoss = val?[i], TrainAccuracy = trainAcc?[i], ValAccuracy = valAcc?[i], LearningRate = lr?[i], Step = (i + 1) * 100L,
            }).ToList(),
        };

    private static TrainingCurve Steps(IEnumerable<double> losses, double lr = 1e-3, string? optimizer = null, double? ratio = null, LossKind? kind = null, int? classes = null)
    {
        var l = losses.ToList();
        return new TrainingCurve
        {
            Steps = l.Select((x, i) => new StepRecord(i, x, lr, i % 10 == 0 ? ratio : null)).ToList(),
            InitialLosses = l.Take(20).ToList(),
            Optimizer = optimizer, LossKind = kind, Classes = classes,
        };
    }

    private static IEnumerable<string> Codes(TrainingCurve c) => CurveDetectors.Detect(c).Select(f => f.Code);

    /// <summary>A healthy curve: exponential decay towards a floor with multiplicative noise of ±<paramref name="noise"/>.</summary>
    private static double[] Healthy(int n, double start, double floor, double rate, double noise, int seed)
    {
        var rng = new Random(seed);
        return Enumerable.Range(0, n).Select(i => (floor + (start - floor) * Math.Exp(-rate * i)) * (1 + noise * (2 * rng.NextDouble() - 1))).ToArray();
    }

    [Theory]
    [InlineData(1)]
    [InlineData(2)]
    [InlineData(3)]
    [InlineData(4)]
    [InlineData(5)]
    public void Healthy_noisy_curves_give_no_finding(int seed)
    {
        // Step level: per-batch noise ±30% around a decaying loss, Adam at 1e-3, cross-entropy over 10 classes.
        Assert.Empty(Codes(Steps(Healthy(1000, 2.3, 0.3, 0.005, 0.3, seed), 1e-3, "Adam", 2e-3, LossKind.CrossEntropy, 10)));
        // Epoch level: 30 epochs, train and val decaying with ±3% noise, accuracies rising with ±1% noise.
        var train = Healthy(30, 1.2, 0.2, 0.15, 0.03, seed);
        var val = Healthy(30, 1.3, 0.35, 0.15, 0.03, seed + 100);
        var acc = train.Select((l, i) => Math.Min(0.99, 1 - l / 2.5 + 0.01 * Math.Sin(i * seed))).ToArray();
        Assert.Empty(Codes(Epochs(train, val, acc, acc.Select(a => a - 0.05).ToArray(), Enumerable.Repeat(1e-3, 30).ToArray())));
    }

    [Fact]
    public void Overfitting_names_the_best_epoch_at_the_rise_boundary()
    {
        // Val best at epoch 4 (0.50), then 3 more epochs; train keeps falling.
        double[] train = [1.0, 0.8, 0.6, 0.5, 0.4, 0.35, 0.3, 0.25];
        double[] Val(double last) => [1.0, 0.8, 0.6, 0.55, 0.50, 0.51, 0.51, last];
        var hit = CurveDetectors.Overfitting(Epochs(train, Val(0.526)), T);   // +5.2%
        Assert.NotNull(hit);
        Assert.Equal("4", hit!.Evidence["best epoch"]);
        Assert.Contains("epoch 4", hit.Advice);
        // Below +5% the rise form is silent; with this train curve the gap form (0.10 → 0.27, 2.7×) still fires, so test the rise on a flatter train curve.
        Assert.Equal("gap", CurveDetectors.Overfitting(Epochs(train, Val(0.52)), T)!.Message.Contains("gap", StringComparison.Ordinal) ? "gap" : "rise");
        double[] trainFlat = [1.0, 0.8, 0.6, 0.5, 0.4, 0.39, 0.39, 0.38];
        Assert.Null(CurveDetectors.Overfitting(Epochs(trainFlat, Val(0.52)), T));   // +4%, gap 0.10 → 0.14
        Assert.NotNull(CurveDetectors.Overfitting(Epochs(trainFlat, Val(0.526)), T));
    }

    [Fact]
    public void Overfitting_needs_patience_and_falling_train_loss()
    {
        double[] val = [1.0, 0.8, 0.6, 0.5, 0.6, 0.7];   // best at 3, only 2 epochs since
        Assert.Null(CurveDetectors.Overfitting(Epochs([1.0, 0.8, 0.6, 0.5, 0.4, 0.3], val), T));
        double[] val2 = [1.0, 0.8, 0.6, 0.5, 0.6, 0.7, 0.8];
        Assert.NotNull(CurveDetectors.Overfitting(Epochs([1.0, 0.8, 0.6, 0.5, 0.4, 0.3, 0.2], val2), T));
        Assert.Null(CurveDetectors.Overfitting(Epochs([1.0, 0.8, 0.6, 0.5, 0.6, 0.7, 0.8], val2), T));   // both rise: not overfitting
    }

    [Fact]
    public void Slow_convergence_boundary_on_accuracy_gain()
    {
        // Accuracy gains 0.0099 per epoch (below 0.01) with loss still above half of ln 10.
        double[] Acc(double g) => Enumerable.Range(0, 8).Select(i => 0.2 + g * i).ToArray();
        double[] loss = Enumerable.Range(0, 8).Select(i => 2.2 - 0.01 * i).ToArray();
        var slow = Epochs(loss, loss, Acc(0.0099)) with { LossKind = LossKind.CrossEntropy, Classes = 10 };
        var f = CurveDetectors.Stalled(slow, T);
        Assert.NotNull(f);
        Assert.Equal(ConvergenceCodes.LearningRateTooLow.Code, f!.Code);   // 2.13 ≥ 0.9 × ln 10: the loss never left ln C
        // The message prints the numbers its rule tested: the gain against 0.01 and the loss against 0.5 × ln 10 = 1.1513.
        Assert.Contains("accuracy gain 0.0099 (below 0.01)", f.Message);
        Assert.Contains("above 1.1513 (0.5 × ln C, ln C = 2.3026)", f.Message);
        Assert.Null(CurveDetectors.Stalled(Epochs(loss, loss, Acc(0.0101)) with { LossKind = LossKind.CrossEntropy, Classes = 10 }, T));
    }

    [Fact]
    public void Stalled_is_named_by_cause()
    {
        // Far from floor (loss 0.9 of start), train = val, gains 0.5%/epoch, never fast: model too small.
        double[] slow = Enumerable.Range(0, 8).Select(i => 1.0 - 0.005 * i).ToArray();
        var f = CurveDetectors.Stalled(Epochs(slow, slow), T)!;
        Assert.Equal(ConvergenceCodes.SlowConvergence.Code, f.Code);
        Assert.Contains("too small", f.Message);
        Assert.Contains("loss decrease 0.5155% (below 1%)", f.Message);   // best gain in the window: (0.97 − 0.965) / 0.97
        // Learned fast, then stopped at 0.6 of the start: plateau.
        double[] plateau = [1.0, 0.8, 0.65, 0.62, 0.619, 0.618, 0.617, 0.616, 0.615];
        Assert.Equal(ConvergenceCodes.Plateau.Code, CurveDetectors.Stalled(Epochs(plateau), T)!.Code);
        // Near the floor (0.3 of start): converged, no finding.
        double[] done = [1.0, 0.5, 0.3, 0.299, 0.298, 0.297, 0.296, 0.295];
        Assert.Null(CurveDetectors.Stalled(Epochs(done), T));
        // LR decayed by the scheduler to 1e-6 of its peak.
        var lr = Enumerable.Range(0, 9).Select(i => 0.1 * Math.Pow(0.1, i)).ToArray();
        var d = CurveDetectors.Stalled(Epochs(plateau, lr: lr), T)!;
        Assert.Equal(ConvergenceCodes.LearningRateDecayed.Code, d.Code);
        // Tiny update ratios: lr too low.
        var tiny = Epochs(slow) with { Steps = [new StepRecord(700, 0.97, 1e-5, 3e-5)] };
        Assert.Equal(ConvergenceCodes.LearningRateTooLow.Code, CurveDetectors.Stalled(tiny, T)!.Code);
    }

    [Fact]
    public void Lr_too_low_boundary_is_umlauts()
    {
        Assert.NotNull(CurveDetectors.LearningRateTooLow(Steps([2.3, 2.3], lr: 0.99e-7), T));
        Assert.Null(CurveDetectors.LearningRateTooLow(Steps([2.3, 2.3], lr: 1.01e-7), T));
    }

    [Fact]
    public void Lr_too_high_needs_adam_above_0_01_and_a_poor_response()
    {
        var flat = Enumerable.Repeat(2.3, 40).ToList();
        Assert.Equal(ConvergenceCodes.LearningRateTooHigh.Code, CurveDetectors.LearningRateTooHigh(Steps(flat, 0.011, "Adam"), T)!.Code);
        Assert.Null(CurveDetectors.LearningRateTooHigh(Steps(flat, 0.0099, "Adam"), T));
        Assert.Null(CurveDetectors.LearningRateTooHigh(Steps(flat, 0.011, "SGD"), T));   // SGD at 0.011 is ordinary
        var learning = Enumerable.Range(0, 40).Select(i => 2.3 * Math.Exp(-0.05 * i)).ToList();
        Assert.Null(CurveDetectors.LearningRateTooHigh(Steps(learning, 0.011, "Adam"), T));   // learns well: no finding
        // Poor-response boundary: latest block mean at 0.9 × the first.
        var edge = Enumerable.Repeat(2.0, 20).Concat(Enumerable.Repeat(1.79, 20)).ToList();
        Assert.Null(CurveDetectors.LearningRateTooHigh(Steps(edge, 0.02, "Adam"), T));
        var edge2 = Enumerable.Repeat(2.0, 20).Concat(Enumerable.Repeat(1.81, 20)).ToList();
        Assert.NotNull(CurveDetectors.LearningRateTooHigh(Steps(edge2, 0.02, "Adam"), T));
        // And it is one finding: the detector does not add divergence or oscillation next to it.
        var blowUp = Enumerable.Range(0, 60).Select(i => 2.3 * (1 + i * 0.3)).ToList();
        var all = CurveDetectors.Detect(Steps(blowUp, 0.1, "Adam"));
        Assert.Equal([ConvergenceCodes.LearningRateTooHigh.Code], all.Select(f => f.Code));
    }

    [Fact]
    public void Divergence_boundary_is_4x_the_best_smoothed_loss()
    {
        var up = Enumerable.Repeat(1.0, 10).Concat(Enumerable.Repeat(3.99, 10)).ToList();
        Assert.Null(CurveDetectors.Divergence(Steps(up), T));
        var up2 = Enumerable.Repeat(1.0, 10).Concat(Enumerable.Repeat(4.0, 10)).ToList();
        Assert.NotNull(CurveDetectors.Divergence(Steps(up2), T));
        // 3.6 → 100 (a forgotten zero_grad): divergence, not also "rising".
        var zg = Enumerable.Range(0, 100).Select(i => 3.6 * Math.Pow(100 / 3.6, i / 99.0)).ToList();
        Assert.Equal([ConvergenceCodes.Divergence.Code], Codes(Steps(zg, 0.01, "SGD")));
    }

    [Fact]
    public void Rising_loss_boundary()
    {
        double[] Rise(double total) => [1.0, 0.9, 0.8, 0.8 * (1 + total / 3), 0.8 * (1 + 2 * total / 3), 0.8 * (1 + total)];
        Assert.NotNull(CurveDetectors.RisingLoss(Epochs(Rise(0.101)), T));
        Assert.Null(CurveDetectors.RisingLoss(Epochs(Rise(0.099)), T));
        Assert.Null(CurveDetectors.RisingLoss(Epochs([1.0, 0.9, 0.8, 0.9, 1.0, 0.95]), T));   // not 3 in a row
        var steps = Enumerable.Range(0, 60).Select(i => i < 20 ? 1.0 : 1.0 + 0.05 * ((i - 20) / 10 + 1)).ToList();
        Assert.NotNull(CurveDetectors.RisingLoss(Steps(steps), T));
    }

    [Fact]
    public void Oscillation_boundary_is_autotrainers()
    {
        // 10 epochs of accuracy: 2 reversals of 0.031 in 9 transitions (22%) → oscillating; 0.029 → not.
        double[] Acc(double s) => [0.5, 0.6, 0.7, 0.7 - s, 0.75, 0.8, 0.85, 0.85 - s, 0.9, 0.91];
        double[] loss = Enumerable.Range(0, 10).Select(i => 1.0 - 0.05 * i).ToArray();
        Assert.NotNull(CurveDetectors.Oscillation(Epochs(loss, valAcc: Acc(0.031)), T));
        Assert.Null(CurveDetectors.Oscillation(Epochs(loss, valAcc: Acc(0.029)), T));
        // 1 of 9 (11%) is below 20%.
        double[] one = [0.5, 0.6, 0.7, 0.6, 0.75, 0.8, 0.85, 0.86, 0.9, 0.91];
        Assert.Null(CurveDetectors.Oscillation(Epochs(loss, valAcc: one), T));
        // 5 epochs, one dip of 0.15 (1 of 4 = 25%): a single reversal is noise, not oscillation; a second one is.
        double[] five = [0.5, 0.8, 0.65, 0.85, 0.9];
        Assert.Null(CurveDetectors.Oscillation(Epochs(loss.Take(5).ToArray(), valAcc: five), T));
        double[] twice = [0.5, 0.8, 0.65, 0.85, 0.7];
        Assert.NotNull(CurveDetectors.Oscillation(Epochs(loss.Take(5).ToArray(), valAcc: twice), T));
    }

    [Fact]
    public void Step_oscillation_is_relative_to_the_smoothed_loss()
    {
        // Block means alternate 1.0 / 1.6 (60% swings); the same alternation scaled by 1000 is the same finding.
        var zig = Enumerable.Range(0, 100).Select(i => (i / 10) % 2 == 0 ? 1.0 : 1.6).ToList();
        Assert.NotNull(CurveDetectors.Oscillation(Steps(zig), T));
        Assert.NotNull(CurveDetectors.Oscillation(Steps(zig.Select(x => x * 1000)), T));
        var small = Enumerable.Range(0, 100).Select(i => (i / 10) % 2 == 0 ? 1.0 : 1.4).ToList();   // 40%
        Assert.Null(CurveDetectors.Oscillation(Steps(small), T));
    }

    [Fact]
    public void Initial_loss_runs_only_for_known_classification_losses()
    {
        double ln10 = Math.Log(10);
        Assert.NotNull(CurveDetectors.InitialLoss(Steps([2.01 * ln10], kind: LossKind.CrossEntropy, classes: 10), T));
        Assert.Null(CurveDetectors.InitialLoss(Steps([1.99 * ln10], kind: LossKind.CrossEntropy, classes: 10), T));
        Assert.Null(CurveDetectors.InitialLoss(Steps([100.0]), T));                             // kind unknown
        Assert.Null(CurveDetectors.InitialLoss(Steps([100.0], kind: LossKind.Mse), T));        // regression
        Assert.NotNull(CurveDetectors.InitialLoss(Steps([1.4], kind: LossKind.BinaryCrossEntropyWithLogits), T));   // > 2 ln 2
    }
}
