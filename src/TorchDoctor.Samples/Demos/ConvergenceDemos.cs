using TorchDoctor.Findings;
using TorchDoctor.Models;
using TorchDoctor.Observations;
using TorchDoctor.Training;
using TorchSharp;
using TorchSharp.Modules;
using static TorchSharp.torch;
using static TorchSharp.torch.nn;
using Module = TorchSharp.torch.nn.Module<TorchSharp.torch.Tensor, TorchSharp.torch.Tensor>;

namespace TorchDoctor.Demos;

/// <summary>A convergence-demo training loop: what it does right and wrong.</summary>
internal sealed record LoopSetup(string Label, Func<Module> Model, Func<Module, optim.Optimizer> Optimizer)
{
    public bool ZeroGrad { get; init; } = true;
    public bool EvalMode { get; init; } = true;
    public bool NoGrad { get; init; } = true;
    public bool TrainAgain { get; init; } = true;
    public int EpochSteps { get; init; } = 50;
    public LossKind Kind { get; init; } = LossKind.CrossEntropy;
    public Func<optim.Optimizer, WarmupScheduler>? Schedule { get; init; }
    public bool ScheduleOnTrainLoss { get; init; }
    public int? Patience { get; init; }
    public double? TargetLoss { get; init; }
    public long? TrainSamples { get; init; }
    /// <summary>Standard deviation of extra Gaussian pixel noise on the training and validation images (clamped to [0, 1]).</summary>
    public double InputNoise { get; init; }
}

/// <summary>Runs a <see cref="LoopSetup"/> with a doctor attached (default options): steps, epochs of <c>EpochSteps</c>, evaluation on the test split.</summary>
internal static class ConvergenceLoop
{
    public static DemoRun Run(LoopSetup s, DemoOptions o, DemoData train, DemoData test, int steps)
    {
        torch.manual_seed(o.Seed);
        using var model = s.Model();
        var opt = s.Optimizer(model);
        var sched = s.Schedule?.Invoke(opt);
        // Recorded runs (DemoOptions.RunDirectory) write the run log and TensorBoard files; the epochs' validation numbers
        // reach them through EndEpoch.
        var sinks = o.RunDirectory is null ? [] : Reporting.RunSinks.ForDirectory(Path.Combine(o.RunDirectory, DemoTrainer.RunName(s.Label)));
        using var doctor = Doctor.Attach(model, opt, new DoctorOptions { Sinks = sinks, Recording = new RunRecorderOptions { Name = s.Label } });
        using var stop = s.Patience is { } p ? new EarlyStopping(model, p, doctor: doctor) : null;
        var losses = new List<double>();
        var valLosses = new List<double>();
        int? reached = null;
        int step = 0;
        double bestVal = double.PositiveInfinity;
        int bestEpoch = -1, epoch = 0;
        bool stopped = false;
        var (data, held) = s.TrainSamples is { } n ? (Subset(train, n), true) : (train, false);
        using var noisyTest = s.InputNoise > 0 ? Noisy(test, s.InputNoise, o.Seed + 1) : null;
        if (s.InputNoise > 0)
        {
            var noisy = Noisy(data, s.InputNoise, o.Seed);
            if (held) data.Dispose();
            (data, held) = (noisy, true);
            test = noisyTest!;
        }
        model.train();
        foreach (var (x, y) in data.Forever(64, o.Seed))
        {
            using (NewDisposeScope())
            {
                doctor.BeginStep();
                if (s.ZeroGrad) opt.zero_grad();
                var loss = doctor.Loss(model.call(x), y, s.Kind);
                loss.backward();
                doctor.AfterBackward(loss);
                opt.step();
                sched?.Step();
                doctor.EndStep();
                losses.Add(doctor.LastStep!.Loss ?? double.NaN);
            }
            x.Dispose();
            y.Dispose();
            step++;
            if (s.TargetLoss is { } target && reached is null && losses.Count >= 20 && losses.Skip(losses.Count - 20).Average() <= target) reached = step;
            if (step % s.EpochSteps == 0)
            {
                double trainLoss = losses.Skip(losses.Count - s.EpochSteps).Average();
                var (vl, va) = Evaluate(model, test, s);
                valLosses.Add(vl);
                if (vl < bestVal) { bestVal = vl; bestEpoch = epoch; }
                doctor.EndEpoch(trainLoss, vl, valAccuracy: va);
                sched?.EndEpoch(s.ScheduleOnTrainLoss ? trainLoss : vl);
                if (stop is not null && stop.Update(vl)) stopped = true;
                epoch++;
                o.Log?.Invoke($"{s.Label}: epoch {epoch}, train loss {trainLoss:G4}, val loss {vl:G4}, val accuracy {va:G3}");
            }
            if (step == steps || stopped) break;
        }
        if (stop is not null) stop.RestoreBest();
        var metrics = new Dictionary<string, double>
        {
            ["steps"] = step,
            ["finalLoss"] = losses.Skip(Math.Max(0, losses.Count - 20)).DefaultIfEmpty(double.NaN).Average(),
            ["firstLoss"] = losses.Count > 0 ? losses[0] : double.NaN,
            ["testAccuracy"] = DemoTrainer.Accuracy(model, test),
        };
        if (valLosses.Count > 0)
        {
            metrics["bestValLoss"] = bestVal;
            metrics["bestEpoch"] = bestEpoch;
            metrics["lastValLoss"] = valLosses[^1];
        }
        if (s.TargetLoss is not null) metrics["stepsToTarget"] = reached ?? double.NaN;
        if (sched is not null) metrics["finalLr"] = sched.LearningRate;
        if (held) data.Dispose();
        return new DemoRun(s.Label, metrics, doctor.Findings.Where(f => f.Severity != Severity.Info).ToList());
    }

    private static DemoData Noisy(DemoData d, double sigma, long seed)
    {
        using var scope = NewDisposeScope();
        using var gen = new Generator((ulong)(seed + 777));
        var images = (d.Images + sigma * randn(d.Images.shape, generator: gen)).clamp(0, 1);
        return DemoData.FromTensors(images, d.Labels.clone(), d.Classes, d.Name + $" (+ pixel noise σ {sigma:G2})");
    }

    private static DemoData Subset(DemoData d, long n)
    {
        using var scope = NewDisposeScope();
        return DemoData.FromTensors(d.Images.narrow(0, 0, n).clone(), d.Labels.narrow(0, 0, n).clone(), d.Classes, d.Name + $" (first {n})");
    }

    /// <summary>Validation loss and accuracy on up to 1024 test samples, with the setup's (possibly wrong) evaluation habits.</summary>
    private static (double Loss, double Accuracy) Evaluate(Module model, DemoData test, LoopSetup s)
    {
        using var scope = NewDisposeScope();
        if (s.EvalMode) model.eval();
        double loss = 0;
        long correct = 0, n = 0;
        using (var _ = s.NoGrad ? no_grad() : enable_grad())
            foreach (var (x, y) in test.Batches(256, 0).Take(4))
            {
                var out_ = model.call(x);
                var logits = s.Kind == LossKind.CrossEntropy ? out_ : out_;
                loss += functional.cross_entropy(logits, y).item<float>() * x.shape[0];
                correct += logits.argmax(1).eq(y).sum().item<long>();
                n += x.shape[0];
            }
        if (s.TrainAgain) model.train();
        return (loss / n, (double)correct / n);
    }
}

/// <summary>Shared shape of the convergence demos: a faulty and a fixed loop setup.</summary>
public abstract class ConvergenceDemo : IDemoCase
{
    /// <inheritdoc />
    public abstract string Name { get; }
    /// <inheritdoc />
    public abstract string Description { get; }
    /// <summary>Default steps.</summary>
    protected virtual int DefaultSteps => 150;
    /// <inheritdoc />
    public virtual int TourSteps => 100;
    /// <summary>What the fix changes.</summary>
    protected abstract string Remedy { get; }
    internal abstract LoopSetup Faulty { get; }
    internal abstract LoopSetup Fixed { get; }

    /// <inheritdoc />
    public virtual DemoResult Run(DemoOptions options)
    {
        var (train, test) = DemoTrainer.Load(options);
        using (train)
        using (test)
        {
            int steps = options.Steps ?? DefaultSteps;
            var before = ConvergenceLoop.Run(Faulty, options, train, test, steps);
            var after = options.Fix ? ConvergenceLoop.Run(Fixed, options, train, test, steps) : null;
            return new DemoResult(Name, before, after, Remedy);
        }
    }

    internal static Sequential DropMlp(double dropout) => Sequential(
        ("flatten", Flatten()), ("fc1", Linear(784, 512)), ("relu1", ReLU()), ("drop1", Dropout(dropout)),
        ("fc2", Linear(512, 512)), ("relu2", ReLU()), ("drop2", Dropout(dropout)), ("out", Linear(512, 10)));

    internal static Sequential BnMlp() => Sequential(
        ("flatten", Flatten()), ("fc1", Linear(784, 128)), ("bn1", BatchNorm1d(128)), ("relu1", ReLU()), ("drop1", Dropout(0.3)), ("out", Linear(128, 10)));
}

/// <summary>Overfitting: a wide MLP on 256 training samples.</summary>
public sealed class OverfittingDemo : ConvergenceDemo
{
    /// <inheritdoc />
    public override string Name => "overfitting";
    /// <inheritdoc />
    public override string Description => "Wide MLP, Adam 1e-3, on only 256 noisy training images (pixel noise σ 0.6): it memorises the noise, validation loss turns up while training loss falls.";
    /// <inheritdoc />
    protected override int DefaultSteps => 240;
    /// <inheritdoc />
    protected override string Remedy => "Dropout(0.5) after each hidden layer, AdamW(weight_decay: 0.05), EarlyStopping(patience: 3) restoring the best epoch.";
    internal override LoopSetup Faulty => new("before: no regularisation", () => DropMlp(0), m => optim.Adam(m.parameters(), 1e-3)) { EpochSteps = 8, TrainSamples = 256, InputNoise = 0.6 };
    internal override LoopSetup Fixed => new("after: dropout 0.5, AdamW wd 0.05, early stopping", () => DropMlp(0.5), m => optim.AdamW(m.parameters(), 1e-3, weight_decay: 0.05))
    { EpochSteps = 8, TrainSamples = 256, InputNoise = 0.6, Patience = 3 };
}

/// <summary>Learning rate too high: Adam at 0.1.</summary>
public sealed class LrTooHighDemo : ConvergenceDemo
{
    /// <inheritdoc />
    public override string Name => "lr-too-high";
    /// <inheritdoc />
    public override string Description => "The demo CNN with Adam at lr 0.1 (UMLAUT's limit for Adam is 0.01): the loss never improves.";
    /// <inheritdoc />
    protected override string Remedy => "Adam lr 1e-3.";
    internal override LoopSetup Faulty => new("before: Adam lr 0.1", () => new SmallCnn(), m => optim.Adam(m.parameters(), 0.1));
    internal override LoopSetup Fixed => new("after: Adam lr 1e-3", () => new SmallCnn(), m => optim.Adam(m.parameters(), 1e-3));
}

/// <summary>Evaluation in training mode and with grad on.</summary>
public sealed class EvalModeDemo : ConvergenceDemo
{
    /// <inheritdoc />
    public override string Name => "eval-mode";
    /// <inheritdoc />
    public override string Description => "Validation without model.eval() and without no_grad(): dropout and batch statistics are active, and a graph is built for nothing.";
    /// <inheritdoc />
    protected override string Remedy => "model.eval() and using (torch.no_grad()) around validation, model.train() after it.";
    internal override LoopSetup Faulty => new("before: no eval(), no no_grad()", () => BnMlp(), m => optim.Adam(m.parameters(), 1e-3)) { EvalMode = false, NoGrad = false };
    internal override LoopSetup Fixed => new("after: eval() + no_grad(), train() after", () => BnMlp(), m => optim.Adam(m.parameters(), 1e-3));
}

/// <summary>Forgotten optimizer.zero_grad().</summary>
public sealed class NoZeroGradDemo : ConvergenceDemo
{
    /// <inheritdoc />
    public override string Name => "no-zero-grad";
    /// <inheritdoc />
    public override string Description => "SGD (momentum 0.9) without optimizer.zero_grad(): each step adds all earlier gradients, and the loss climbs.";
    /// <inheritdoc />
    protected override string Remedy => "optimizer.zero_grad() before loss.backward() in every step.";
    internal override LoopSetup Faulty => new("before: no zero_grad()", () => new SmallCnn(), m => optim.SGD(m.parameters(), 0.01, momentum: 0.9)) { ZeroGrad = false };
    internal override LoopSetup Fixed => new("after: zero_grad()", () => new SmallCnn(), m => optim.SGD(m.parameters(), 0.01, momentum: 0.9));
}

/// <summary>A reshape that mixes samples across the batch.</summary>
public sealed class BatchMixingDemo : ConvergenceDemo
{
    /// <inheritdoc />
    public override string Name => "batch-mixing";
    /// <inheritdoc />
    public override string Description => "A flatten written as x.reshape(784, -1).t(): the shape is right, but each row mixes pixels of different samples.";
    /// <inheritdoc />
    protected override string Remedy => "x.flatten(1) (nn.Flatten()), which keeps the batch dimension first.";
    internal override LoopSetup Faulty => new("before: reshape(784, -1).t()", () => Sequential(("flatten", new BatchMixingFlatten()), ("fc1", Linear(784, 128)), ("relu", ReLU()), ("out", Linear(128, 10))), m => optim.Adam(m.parameters(), 1e-3));
    internal override LoopSetup Fixed => new("after: Flatten()", () => Sequential(("flatten", Flatten()), ("fc1", Linear(784, 128)), ("relu", ReLU()), ("out", Linear(128, 10))), m => optim.Adam(m.parameters(), 1e-3));
}

/// <summary>The batch-mixing demo's culprit: a flatten that reshapes across the batch dimension.</summary>
public sealed class BatchMixingFlatten : Module
{
    /// <summary>Creates it.</summary>
    public BatchMixingFlatten() : base(nameof(BatchMixingFlatten)) { }
    /// <inheritdoc />
    public override Tensor forward(Tensor x) => x.reshape(784, -1).t();
}

/// <summary>Overconfident initial logits.</summary>
public sealed class BadInitLossDemo : ConvergenceDemo
{
    /// <inheritdoc />
    public override string Name => "bad-init-loss";
    /// <inheritdoc />
    public override string Description => "MLP whose output layer starts with weights ×30: the first loss is far above ln 10 = 2.30.";
    /// <inheritdoc />
    protected override string Remedy => "init.zeros_ on the output layer: the first prediction is uniform and the first loss is ln 10.";

    private static Sequential Model(double scale)
    {
        var m = Sequential(("flatten", Flatten()), ("fc1", Linear(784, 128)), ("relu", ReLU()), ("out", Linear(128, 10)));
        using var _ = no_grad();
        var out_ = (Linear)m[3];
        if (scale == 0) { init.zeros_(out_.weight); init.zeros_(out_.bias!); }
        else out_.weight!.mul_(scale);
        return m;
    }

    internal override LoopSetup Faulty => new("before: output weights ×30", () => Model(30), m => optim.Adam(m.parameters(), 1e-3));
    internal override LoopSetup Fixed => new("after: zero-initialised output layer", () => Model(0), m => optim.Adam(m.parameters(), 1e-3));
}

/// <summary>Softmax output into cross_entropy.</summary>
public sealed class SoftmaxLogitsDemo : ConvergenceDemo
{
    /// <inheritdoc />
    public override string Name => "softmax-logits";
    /// <inheritdoc />
    public override string Description => "The model ends in Softmax and its output goes to cross_entropy (which applies log-softmax itself): the loss cannot fall below 1.46.";
    /// <inheritdoc />
    protected override string Remedy => "Remove the Softmax module; cross_entropy takes raw logits.";

    private static Sequential Model(bool softmax)
    {
        var layers = new List<(string, Module)> { ("flatten", Flatten()), ("fc1", Linear(784, 128)), ("relu", ReLU()), ("out", Linear(128, 10)) };
        if (softmax) layers.Add(("softmax", Softmax(1)));
        return Sequential(layers);
    }

    internal override LoopSetup Faulty => new("before: Softmax → cross_entropy", () => Model(true), m => optim.Adam(m.parameters(), 1e-3));
    internal override LoopSetup Fixed => new("after: logits → cross_entropy", () => Model(false), m => optim.Adam(m.parameters(), 1e-3));
}

/// <summary>
/// Slow convergence (the guide's case 3): the demo CNN with plain SGD at 1e-3, no momentum, no schedule. The fix keeps
/// the optimizer family (plain SGD) but takes the LR range test's suggestion, warms up and reduces on plateau; it must
/// reach the faulty run's last loss (mean of its last 20 steps) in at least 40% fewer steps.
/// </summary>
public sealed class SlowConvergenceDemo : ConvergenceDemo
{
    /// <summary>Steps of the LR range test's sweep (1e-4 → 10). Plain SGD from the demo CNN's default init sits on the ln 10
    /// plateau until it has spent some steps at a useful LR; 100 steps leave too few there (measured: no descent on the
    /// generated data, docs/detectors.md), 300 see the descent on both data sets.</summary>
    internal const int SweepSteps = 300;

    /// <inheritdoc />
    public override string Name => "slow-convergence";
    /// <inheritdoc />
    public override string Description => "The demo CNN with plain SGD, lr 1e-3, no momentum, no schedule, for a fixed number of steps (inputs standardised); the fix (LR range test + warmup + ReduceLROnPlateau, still SGD) reaches its last loss in far fewer steps.";
    /// <inheritdoc />
    protected override int DefaultSteps => 300;
    /// <summary>The stall rule reads six 50-step epochs, so the tour runs the whole default.</summary>
    public override int TourSteps => DefaultSteps;
    /// <inheritdoc />
    protected override string Remedy => "SGD at the LR range test's suggestion (LrFinder.Run, 300-step sweep), 20 warmup steps, then ReduceLROnPlateau(factor 0.5, patience 1) on the epoch loss (WarmupScheduler.WithPlateau).";

    /// <summary>Plain SGD at lr 1e-3, no momentum, no schedule (the guide's case study 3).</summary>
    internal override LoopSetup Faulty => new("before: SGD lr 0.001", () => new SmallCnn(), m => optim.SGD(m.parameters(), 1e-3));
    internal override LoopSetup Fixed => throw new NotSupportedException("built from the LR range test in Run");

    /// <inheritdoc />
    public override DemoResult Run(DemoOptions options)
    {
        var (rawTrain, rawTest) = DemoTrainer.Load(options);
        // Both runs see standardised inputs (the training set's mean and std), as a user's Normalize transform gives them:
        // on raw [0, 1] generated images plain SGD from the default init needs ~300 steps at lr 0.1 to leave the ln 10
        // plateau, and no LR range test can read a descent there (measured, docs/detectors.md).
        var (train, test) = Standardize(rawTrain, rawTest);
        using (train)
        using (test)
        {
            int steps = options.Steps ?? DefaultSteps;
            var before = ConvergenceLoop.Run(Faulty, options, train, test, steps);
            if (!options.Fix) return new DemoResult(Name, before, null, Remedy);
            double target = before.Metrics["finalLoss"];
            if (!(target < 0.97 * before.Metrics["firstLoss"]))
                options.Log?.Invoke($"the faulty run's loss barely moved ({before.Metrics["firstLoss"]:G4} → {target:G4}): the fix is measured by the steps it needs to reach that loss");
            // The LR range test on a fresh model of the same init; it restores the model anyway.
            torch.manual_seed(options.Seed);
            LrFinderResult sweep;
            using (var probe = new SmallCnn())
            {
                var opt = optim.SGD(probe.parameters(), 1e-3);
                var batches = train.Forever(64, options.Seed + 17).Take(SweepSteps).ToList();
                sweep = LrFinder.Run(probe, opt, batches, (o, y) => functional.cross_entropy(o, y), new LrFinderOptions { StartLr = 1e-4, EndLr = 10, Steps = SweepSteps });
                options.Log?.Invoke(sweep.ToString());
                foreach (var (x, y) in batches) { x.Dispose(); y.Dispose(); }
            }
            double suggestion = sweep.Suggestion;
            var fix = new LoopSetup($"after: SGD lr {suggestion:G2} (LR range test) + warmup 20 + plateau", () => new SmallCnn(), m => optim.SGD(m.parameters(), suggestion))
            {
                Schedule = o => WarmupScheduler.WithPlateau(o, warmupSteps: 20, factor: 0.5, patience: 1),
                ScheduleOnTrainLoss = true,
                TargetLoss = target,
            };
            var after = ConvergenceLoop.Run(fix, options, train, test, steps);
            var m = new Dictionary<string, double>(after.Metrics) { ["suggestedLr"] = suggestion, ["sweepSteps"] = sweep.LearningRates.Count };
            if (m["stepsToTarget"] is var s && double.IsFinite(s)) m["fewerStepsPercent"] = Math.Round(100 * (1 - s / before.Metrics["steps"]), 1);
            var b = new Dictionary<string, double>(before.Metrics) { ["targetLoss"] = target, ["stepsToTarget"] = before.Metrics["steps"] };
            return new DemoResult(Name, before with { Metrics = b }, after with { Metrics = m }, Remedy);
        }
    }

    /// <summary>Standardises both splits with the training split's mean and std; disposes the raw splits.</summary>
    private static (DemoData Train, DemoData Test) Standardize(DemoData train, DemoData test)
    {
        using (train)
        using (test)
        {
            var (mean, std) = train.PixelStats();
            return (train.Standardized(mean, std), test.Standardized(mean, std));
        }
    }
}
