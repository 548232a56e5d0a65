using TorchDoctor.Findings;
using TorchDoctor.Observations;
using TorchDoctor.Training;
using TorchSharp;
using TorchSharp.Modules;
using static TorchSharp.torch;
using static TorchSharp.torch.nn;

namespace TorchDoctor.Corpus.Cases.Convergence;

/// <summary>
/// The loop the four programs below share, written the way the 2026-11-30 new-user trial wrote it: epochs of mini-batches,
/// validation in eval mode under no_grad, and <c>EndEpoch</c> with losses and accuracies.
/// </summary>
internal static class EpochLoop
{
    public static IReadOnlyList<Finding> Run(Module<Tensor, Tensor> model, optim.Optimizer optimizer, CorpusData.Table train, CorpusData.Table val,
        CaseContext ctx, int epochs, int batch, LossKind kind, Action? afterEpoch = null)
    {
        using var doctor = Doctor.Attach(model, optimizer, ctx.Options);
        int stepsPerEpoch = (int)(train.Count / batch);
        for (int epoch = 0; epoch < epochs; epoch++)
        {
            model.train();
            double sum = 0, correct = 0;
            foreach (var (x, y) in train.Batches(batch, stepsPerEpoch, ctx.Seed + epoch))
            {
                using var scope = NewDisposeScope();
                doctor.BeginStep();
                optimizer.zero_grad();
                var output = model.call(x);
                var loss = doctor.Loss(output, y, kind);
                loss.backward();
                doctor.AfterBackward(loss);
                optimizer.step();
                doctor.EndStep();
                sum += loss.item<float>();
                correct += output.argmax(1).eq(y).sum().item<long>();
            }
            model.eval();
            double valLoss, valAcc;
            using (no_grad())
            using (NewDisposeScope())
            {
                var output = model.call(val.X);
                var logp = kind == LossKind.NllLoss ? functional.log_softmax(output, 1) : output;
                valLoss = functional.cross_entropy(logp, val.Y).item<float>();
                valAcc = output.argmax(1).eq(val.Y).to(ScalarType.Float32).mean().item<float>();
            }
            doctor.EndEpoch(sum / stepsPerEpoch, valLoss, correct / (stepsPerEpoch * (double)batch), valAcc);
            afterEpoch?.Invoke();
        }
        return doctor.Findings;
    }

    /// <summary>The programs' data: 2,400 blobs of 20 features in 5 classes, the first 1,920 for training, the rest for validation.</summary>
    public static Split Blobs(CaseContext ctx, double spread = 2.0)
    {
        using var all = CorpusData.Blobs(2400, 20, 5, ctx.Seed, spread);
        return new Split(all.Slice(0, 1920), all.Slice(1920, 480));   // slices are copies
    }

    /// <summary>A training and a validation table, disposed together.</summary>
    public sealed record Split(CorpusData.Table Train, CorpusData.Table Val) : IDisposable
    {
        public void Dispose()
        {
            Train.Dispose();
            Val.Dispose();
        }
    }

    public static Sequential Mlp(int inputs, int classes) => Sequential(
        ("fc1", Linear(inputs, 64)), ("relu1", ReLU()), ("fc2", Linear(64, 64)), ("relu2", ReLU()), ("fc3", Linear(64, classes)));
}

/// <summary>Inputs and labels shuffled with two different permutations: the model memorises noise, validation stays at chance.</summary>
public sealed class LabelsShuffledSeparately : CorpusCase
{
    public override CaseInfo Info => new()
    {
        Id = "labels-shuffled-separately",
        Title = "MLP, Adam 1e-3: the training set's x and y each get their own randperm, so labels no longer match inputs",
        Source = "new-user trial 2026-11-30 (was: oscillation, 'lower the learning rate'); Stack Overflow 'validation accuracy stuck at chance'",
        Expected = new("TD2122", null),
        Capability = Capabilities.Convergence,
        Fix = "one permutation for both x and y (the finding's advice)",
        Steps = 300,
    };

    public override IReadOnlyList<Finding> Run(CaseContext ctx)
    {
        using var data = EpochLoop.Blobs(ctx, spread: 1.5);
        var (ordered, val) = (data.Train, data.Val);
        using var gen = new Generator((ulong)(ctx.Seed + 11));
        var px = randperm(1920, generator: gen);
        var py = ctx.Fixed ? px : randperm(1920, generator: gen);          // BUG: a second permutation for the labels
        using var train = new CorpusData.Table(ordered.X.index_select(0, px), ordered.Y.index_select(0, py));
        var model = EpochLoop.Mlp(20, 5);
        return EpochLoop.Run(model, optim.Adam(model.parameters(), 1e-3), train, val, ctx, epochs: 10, batch: 64, LossKind.CrossEntropy);
    }
}

/// <summary>A LambdaLR linear decay written in integer arithmetic: the factor is 0 from epoch 1 on, training stops.</summary>
public sealed class LambdaLrIntegerDivision : CorpusCase
{
    public override CaseInfo Info => new()
    {
        Id = "lambda-lr-integer-division",
        Title = "MLP, SGD momentum: LambdaLR(epoch => (epochs - epoch) / epochs) with int epochs sets lr to 0 after the first epoch",
        Source = "new-user trial 2026-11-30 (was: lr-decayed at step 223 with 'step per epoch' advice); C# integer division",
        Expected = new("TD2109", null),
        Capability = Capabilities.Convergence,
        Fix = "(epochs - epoch) / (double)epochs (the finding's advice)",
        Steps = 300,
    };

    public override IReadOnlyList<Finding> Run(CaseContext ctx)
    {
        using var data = EpochLoop.Blobs(ctx, spread: 1.0);
        var (train, val) = (data.Train, data.Val);
        var model = EpochLoop.Mlp(20, 5);
        var optimizer = optim.SGD(model.parameters(), 0.01, momentum: 0.9);
        int epochs = 10;
        var schedule = optim.lr_scheduler.LambdaLR(optimizer, epoch => ctx.Fixed ? (epochs - epoch) / (double)epochs : (epochs - epoch) / epochs);
        return EpochLoop.Run(model, optimizer, train, val, ctx, epochs, batch: 64, LossKind.CrossEntropy, afterEpoch: () => schedule.step());
    }
}

/// <summary>nll_loss on raw logits (no log_softmax): the loss goes negative without bound.</summary>
public sealed class NllLossOnLogits : CorpusCase
{
    public override CaseInfo Info => new()
    {
        Id = "nll-loss-on-logits",
        Title = "MLP ending in Linear, trained with nll_loss on its raw output (log_softmax forgotten)",
        Source = "new-user trial 2026-11-30 (was: exploding gradients with clipping advice); PyTorch forums 'negative NLL loss'",
        Expected = new("TD2120", "layers.fc3"),
        Capability = Capabilities.Convergence,
        Fix = "log_softmax on the output before nll_loss",
        Steps = 300,
    };

    private sealed class Net : Module<Tensor, Tensor>
    {
        private readonly Sequential layers = EpochLoop.Mlp(20, 5);
        private readonly bool _logSoftmax;

        public Net(bool logSoftmax) : base(nameof(Net))
        {
            _logSoftmax = logSoftmax;
            RegisterComponents();
        }

        public override Tensor forward(Tensor x) => _logSoftmax ? functional.log_softmax(layers.call(x), 1) : layers.call(x);
    }

    public override IReadOnlyList<Finding> Run(CaseContext ctx)
    {
        using var data = EpochLoop.Blobs(ctx);
        var (train, val) = (data.Train, data.Val);
        var model = new Net(ctx.Fixed);
        return EpochLoop.Run(model, optim.Adam(model.parameters(), 1e-3), train, val, ctx, epochs: 10, batch: 64, LossKind.NllLoss);
    }
}

/// <summary>weight_decay 0.5 where 5e-4 was meant: decay shrinks every weight by 2.5% per step and the weights collapse.</summary>
public sealed class WeightDecayTooLarge : CorpusCase
{
    public override CaseInfo Info => new()
    {
        Id = "weight-decay-too-large",
        Title = "MLP, SGD lr 0.05 momentum 0.9 with weight_decay 0.5 (meant: 5e-4)",
        Source = "new-user trial 2026-11-30 (was: vanishing gradients with Sigmoid advice, and 'lr too low' at an update ratio of 0.145)",
        Expected = new("TD2121", null),
        Capability = Capabilities.Convergence,
        Fix = "weight_decay 5e-4 (the finding's advice)",
        Steps = 300,
    };

    public override IReadOnlyList<Finding> Run(CaseContext ctx)
    {
        using var data = EpochLoop.Blobs(ctx, spread: 1.0);
        var (train, val) = (data.Train, data.Val);
        var model = EpochLoop.Mlp(20, 5);
        var optimizer = optim.SGD(model.parameters(), 0.05, momentum: 0.9, weight_decay: ctx.Fixed ? 5e-4 : 0.5);
        return EpochLoop.Run(model, optimizer, train, val, ctx, epochs: 10, batch: 64, LossKind.CrossEntropy);
    }
}

/// <summary>clip_grad_norm_ with max_norm 1e-3 (meant: 1.0): every SGD step is scaled down ~1000×, the loss barely moves.</summary>
public sealed class ClipNormTiny : CorpusCase
{
    public override CaseInfo Info => new()
    {
        Id = "clip-norm-tiny",
        Title = "MLP, SGD lr 0.05 momentum 0.9, clip_grad_norm_(parameters, 1e-3) between AfterBackward and step (meant: 1.0)",
        Source = "new-user trial 2026-11-30 (was: no finding; with max_norm 1e-4, 'raise this layer's learning rate')",
        Expected = new("TD2014", Expectation.Root),
        Capability = Capabilities.Training,
        Fix = "max_norm 1.0 (the finding's advice: near the measured gradient norm)",
        Steps = 200,
    };

    public override IReadOnlyList<Finding> Run(CaseContext ctx)
    {
        using var data = CorpusData.Blobs(2048, 20, 5, ctx.Seed, spread: 1.0);
        var model = EpochLoop.Mlp(20, 5);
        var optimizer = optim.SGD(model.parameters(), 0.05, momentum: 0.9);
        using var doctor = Doctor.Attach(model, optimizer, ctx.Options);
        foreach (var (x, y) in data.Batches(64, ctx.Steps, ctx.Seed))
        {
            using var scope = NewDisposeScope();
            doctor.BeginStep();
            optimizer.zero_grad();
            var loss = functional.cross_entropy(model.call(x), y);
            loss.backward();
            doctor.AfterBackward(loss);
            nn.utils.clip_grad_norm_(model.parameters(), ctx.Fixed ? 1.0 : 1e-3);
            optimizer.step();
            doctor.EndStep();
        }
        return doctor.Findings;
    }
}
