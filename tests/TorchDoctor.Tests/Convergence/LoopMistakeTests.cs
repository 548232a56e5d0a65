using TorchDoctor.Findings;
using TorchDoctor.Observations;
using TorchDoctor.Training;
using TorchSharp;
using TorchSharp.Modules;
using Xunit;
using static TorchSharp.torch;
using static TorchSharp.torch.nn;

namespace TorchDoctor.Tests.Convergence;

/// <summary>Flattens [N, 1, 28, 28] the wrong way: view(784, N).t() is [N, 784] but mixes samples.</summary>
public sealed class MixingFlatten : Module<Tensor, Tensor>
{
    /// <summary>Creates it.</summary>
    public MixingFlatten() : base(nameof(MixingFlatten)) { }
    /// <inheritdoc />
    public override Tensor forward(Tensor x) => x.reshape(28 * 28, -1).t();
}

/// <summary>Loop mistakes and loss-call checks, each found within the first epoch of a 30-step run at default options.</summary>
[Collection(ProcessMemoryCollection.Name)]
public class LoopMistakeTests
{
    internal sealed record Loop
    {
        public Func<Module<Tensor, Tensor>> Model { get; init; } = () => Mlp();
        public Func<Module<Tensor, Tensor>, optim.Optimizer> Optimizer { get; init; } = m => optim.Adam(m.parameters(), 1e-3);
        public bool ZeroGrad { get; init; } = true;
        public bool EvalMode { get; init; } = true;      // model.eval() before evaluating
        public bool NoGrad { get; init; } = true;        // no_grad around evaluation
        public bool TrainAgain { get; init; } = true;    // model.train() after evaluating
        public int Accumulate { get; init; }             // > 0: GradientAccumulator with this many micro-batches
        public Func<Doctor, Tensor, Tensor, Tensor>? LossCall { get; init; }
        public int Steps { get; init; } = 30;
        public int EvalEvery { get; init; } = 10;
    }

    internal static Sequential Mlp(Module<Tensor, Tensor>? flatten = null, Module<Tensor, Tensor>? head = null)
    {
        var layers = new List<(string, Module<Tensor, Tensor>)>
        {
            ("flatten", flatten ?? Flatten()), ("fc1", Linear(784, 64)), ("bn1", BatchNorm1d(64)), ("relu", ReLU()), ("drop", Dropout(0.2)), ("out", Linear(64, 10)),
        };
        if (head is not null) layers.Add(("head", head));
        return Sequential(layers);
    }

    internal static (IReadOnlyList<Finding> Findings, List<double> Losses) Run(Loop l)
    {
        using var data = DemoData.Generated(1024, 2);
        torch.manual_seed(3);
        using var model = l.Model();
        var opt = l.Optimizer(model);
        using var doctor = Doctor.Attach(model, opt);
        var acc = l.Accumulate > 0 ? new GradientAccumulator(opt, l.Accumulate, doctor) : null;
        var losses = new List<double>();
        int step = 0;
        model.train();
        foreach (var (x, y) in data.Forever(32, 1))
        {
            using (NewDisposeScope())
            {
                doctor.BeginStep();
                if (l.ZeroGrad && acc is null) opt.zero_grad();
                var output = model.call(x);
                var loss = l.LossCall is { } lc ? lc(doctor, output, y) : doctor.Loss(output, y, LossKind.CrossEntropy);
                if (acc is not null) acc.Backward(loss, x.shape[0]); else loss.backward();
                doctor.AfterBackward(loss);
                if (acc is not null) acc.StepIfReady(); else opt.step();
                doctor.EndStep();
                losses.Add(doctor.LastStep!.Loss ?? double.NaN);
            }
            x.Dispose();
            y.Dispose();
            step++;
            if (step % l.EvalEvery == 0)
            {
                using var scope = NewDisposeScope();
                if (l.EvalMode) model.eval();
                using (var g = l.NoGrad ? no_grad() : enable_grad())
                    foreach (var (vx, vy) in data.Batches(256, 0).Take(1)) model.call(vx);
                if (l.TrainAgain) model.train();
                doctor.EndEpoch(losses.Skip(losses.Count - l.EvalEvery).Average());
            }
            if (step == l.Steps) break;
        }
        acc?.Step();
        return (doctor.Findings.ToList(), losses);
    }

    private static IEnumerable<string> Td21(IEnumerable<Finding> f) => f.Select(x => x.Code).Where(c => c.StartsWith("TD21", StringComparison.Ordinal));

    [Fact]
    public void A_correct_loop_has_no_loop_or_loss_call_finding()
    {
        Assert.Empty(Td21(Run(new Loop()).Findings));
    }

    [Fact]
    public void Evaluation_in_training_mode_is_found_at_the_dropout_or_batchnorm()
    {
        var f = Run(new Loop { EvalMode = false }).Findings;
        var hit = Assert.Single(f, x => x.Code == ConvergenceCodes.EvalInTrainMode.Code);
        Assert.Equal("bn1", hit.Module);
        Assert.Equal(9, hit.Step);
        Assert.DoesNotContain(f, x => x.Code == ConvergenceCodes.TrainInEvalMode.Code);
    }

    [Fact]
    public void Evaluation_with_grad_on_reports_the_bytes_held()
    {
        var hit = Assert.Single(Run(new Loop { NoGrad = false }).Findings, x => x.Code == ConvergenceCodes.EvalWithGrad.Code);
        // 256 samples: fc1, bn1, relu, drop outputs (64 floats each) + out (10) + flatten output does not require grad.
        long expected = 256L * (64 * 4 + 10 + 10) * 4;
        Assert.Equal(expected.ToString(System.Globalization.CultureInfo.InvariantCulture), hit.Evidence["bytes held per forward"]);
        // Measured on the live evaluation, as InferenceMemory.Measure measures it: native bytes after a collection around the
        // forward. This loop evaluates inside a dispose scope, like Measure does.
        long held = long.Parse(hit.Evidence["native bytes held per forward (measured)"].Text, System.Globalization.CultureInfo.InvariantCulture);
        Assert.Equal(256L * 10 * 4, long.Parse(hit.Evidence["output bytes (what no_grad keeps)"].Text, System.Globalization.CultureInfo.InvariantCulture));
        Assert.Equal(held - 256L * 10 * 4, long.Parse(hit.Evidence["bytes beyond the output (measured; graph and the dispose scope's intermediates)"].Text, System.Globalization.CultureInfo.InvariantCulture));
        Assert.Contains("measured after a collection", hit.Message);

        // InferenceMemory.Measure on the same model and batch (what `torchdoctor profile` prints) measures the same bytes.
        using var data = DemoData.Generated(1024, 2);
        torch.manual_seed(3);
        using var model = Mlp();
        model.eval();
        var (vx, vy) = data.Batches(256, 0).First();
        var cost = global::TorchDoctor.Profiling.InferenceMemory.Measure(model, vx);
        vx.Dispose();
        vy.Dispose();
        Assert.True(held >= cost.WithGradBytes / 2 && held <= cost.WithGradBytes * 2, $"live {held} vs Measure {cost.WithGradBytes} (no_grad {cost.NoGradBytes})");
    }

    [Fact]
    public void Evaluation_with_grad_on_outside_a_dispose_scope_reports_what_no_grad_saves()
    {
        using var data = DemoData.Generated(1024, 2);
        torch.manual_seed(3);
        using var model = Mlp();
        var opt = optim.Adam(model.parameters(), 1e-3);
        using var doctor = Doctor.Attach(model, opt);
        model.train();
        var (vx, vy) = data.Batches(256, 0).First();
        foreach (var (x, y) in data.Forever(32, 1).Take(3))
        {
            using (NewDisposeScope())
            {
                doctor.BeginStep();
                opt.zero_grad();
                var loss = doctor.Loss(model.call(x), y, LossKind.CrossEntropy);
                loss.backward();
                doctor.AfterBackward(loss);
                opt.step();
                doctor.EndStep();
            }
            x.Dispose();
            y.Dispose();
        }
        model.eval();
        var output = model.call(vx);                 // no scope, grad on: the graph keeps the saved activations
        model.train();
        doctor.EndEpoch(1.0);
        var hit = Assert.Single(doctor.Findings, f => f.Code == ConvergenceCodes.EvalWithGrad.Code);
        long held = long.Parse(hit.Evidence["native bytes held per forward (measured)"].Text, System.Globalization.CultureInfo.InvariantCulture);
        long saved = long.Parse(hit.Evidence["bytes no_grad saves per forward (measured)"].Text, System.Globalization.CultureInfo.InvariantCulture);
        Assert.Equal(held - 256L * 10 * 4, saved);
        // The graph keeps at least bn1's input and out's input (256×64 floats each), and not megabytes.
        Assert.InRange(saved, 2 * 256L * 64 * 4, 4L << 20);
        Assert.Contains($"({saved:N0} bytes)", hit.Message);
        output.Dispose();
        vx.Dispose();
        vy.Dispose();
    }

    [Fact]
    public void Training_after_evaluation_without_train_is_found()
    {
        var f = Run(new Loop { TrainAgain = false }).Findings;
        var hit = Assert.Single(f, x => x.Code == ConvergenceCodes.TrainInEvalMode.Code);
        Assert.Equal(10, hit.Step);
    }

    [Fact]
    public void Forgotten_zero_grad_is_found_at_step_1_and_its_symptoms_are_not_reported_as_causes()
    {
        var (f, losses) = Run(new Loop { ZeroGrad = false, Optimizer = m => optim.SGD(m.parameters(), 0.05) });
        var hit = Assert.Single(f, x => x.Code == ConvergenceCodes.GradNotZeroed.Code);
        Assert.Equal(1, hit.Step);
        Assert.DoesNotContain(f, x => ConvergenceMonitor_Symptoms.Contains(x.Code));
        Assert.True(losses.Count == 30);
    }

    private static readonly HashSet<string> ConvergenceMonitor_Symptoms = ["TD2107", "TD2108", "TD2105", "TD2103", "TD2002", "TD2009"];

    [Fact]
    public void Accumulation_through_the_helper_is_not_a_forgotten_zero_grad()
    {
        Assert.DoesNotContain(Run(new Loop { Accumulate = 4 }).Findings, x => x.Code == ConvergenceCodes.GradNotZeroed.Code);
    }

    [Fact]
    public void Batch_mixing_is_named_at_the_module_that_mixes()
    {
        var hit = Assert.Single(Run(new Loop { Model = () => Mlp(flatten: new MixingFlatten()) }).Findings, x => x.Code == ConvergenceCodes.BatchMixing.Code);
        Assert.Equal("flatten", hit.Module);
    }

    [Fact]
    public void Softmax_into_cross_entropy_is_named_at_the_softmax()
    {
        var f = Run(new Loop { Model = () => Mlp(head: Softmax(1)) }).Findings;
        var hit = Assert.Single(f, x => x.Code == ConvergenceCodes.ProbabilitiesIntoLogitLoss.Code);
        Assert.Equal("head", hit.Module);
        Assert.Equal("1.4612", hit.Evidence["loss floor"]);   // ln(e + 9) − 1
    }

    [Fact]
    public void Sigmoid_into_bce_with_logits_is_named_at_the_sigmoid()
    {
        var f = Run(new Loop
        {
            Model = () => Mlp(head: Sigmoid()),
            LossCall = (d, o, y) => d.Loss(o, functional.one_hot(y, 10).to(ScalarType.Float32), LossKind.BinaryCrossEntropyWithLogits),
        }).Findings;
        Assert.Equal("head", Assert.Single(f, x => x.Code == ConvergenceCodes.ProbabilitiesIntoLogitLoss.Code).Module);
    }

    [Fact]
    public void Mse_of_n1_against_n_is_named_with_the_fix()
    {
        var f = Run(new Loop
        {
            Model = () => Sequential(("flatten", Flatten()), ("fc", Linear(784, 1))),
            LossCall = (d, o, y) => d.Loss(o, y.to(ScalarType.Float32), LossKind.Mse),
        }).Findings;
        var hit = Assert.Single(f, x => x.Code == ConvergenceCodes.TargetBroadcast.Code);
        Assert.Contains("target.unsqueeze(1)", hit.Advice);
        Assert.Equal("[32, 32]", hit.Evidence["broadcast shape"]);
    }

    [Fact]
    public void Int32_class_labels_are_named()
    {
        using var o = randn(4, 10);
        using var y = tensor(new[] { 1, 2, 3, 4 });
        using var model = Mlp();
        using var doctor = Doctor.Attach(model);
        Assert.ThrowsAny<Exception>(() => doctor.Loss(o, y, LossKind.CrossEntropy));   // libtorch refuses Int32; the finding says why
        var hit = Assert.Single(doctor.Findings, x => x.Code == ConvergenceCodes.LabelDtype.Code);
        Assert.Contains("ScalarType.Int64", hit.Advice);
    }

    [Fact]
    public void Loss_returns_exactly_what_the_functional_call_returns()
    {
        using var model = Mlp();
        using var doctor = Doctor.Attach(model);
        torch.manual_seed(1);
        using var o = randn(8, 10);
        using var y = randint(10, [8]);
        using var t = rand(8, 10);
        Assert.Equal(functional.cross_entropy(o, y).item<float>(), doctor.Loss(o, y, LossKind.CrossEntropy).item<float>());
        Assert.Equal(functional.binary_cross_entropy_with_logits(o, t).item<float>(), doctor.Loss(o, t, LossKind.BinaryCrossEntropyWithLogits).item<float>());
        Assert.Equal(functional.mse_loss(o, t).item<float>(), doctor.Loss(o, t, LossKind.Mse).item<float>());
    }
}

public class BatchMixingDirectTests
{
    [Fact]
    public void Direct_check_names_the_mixing_module_and_restores_modes()
    {
        torch.manual_seed(0);
        using var model = LoopMistakeTests.Mlp(flatten: new MixingFlatten());
        model.train();
        using var x = rand(8, 1, 28, 28);
        var f = BatchMixingCheck.Run(model, x);
        Assert.NotNull(f);
        Assert.Equal("flatten", f!.Module);
        Assert.True(model.training);
        using var clean = LoopMistakeTests.Mlp();
        Assert.Null(BatchMixingCheck.Run(clean, x));
    }
}
