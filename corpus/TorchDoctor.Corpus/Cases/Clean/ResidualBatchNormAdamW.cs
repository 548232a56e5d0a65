using TorchDoctor.Findings;
using TorchDoctor.Training;
using TorchSharp;
using TorchSharp.Modules;
using static TorchSharp.torch;
using static TorchSharp.torch.nn;

namespace TorchDoctor.Corpus.Cases.Clean;

/// <summary>A small residual CNN with BatchNorm, AdamW with weight decay.</summary>
public sealed class ResidualBatchNormAdamW : CorpusCase
{
    public override CaseInfo Info => new()
    {
        Id = "clean-residual-batchnorm-adamw",
        Kind = CaseKind.Clean,
        Title = "ResNet-style CNN: stem conv + two residual blocks (Conv-BN-ReLU-Conv-BN + identity), global pooling, AdamW 1e-3 wd 1e-2",
        Source = "torchvision ResNet BasicBlock, scaled down",
        Steps = 150,
    };

    private sealed class BasicBlock : Module<Tensor, Tensor>
    {
        private readonly Conv2d conv1, conv2;
        private readonly BatchNorm2d bn1, bn2;

        public BasicBlock(long c) : base(nameof(BasicBlock))
        {
            conv1 = Conv2d(c, c, 3, padding: 1, bias: false);
            bn1 = BatchNorm2d(c);
            conv2 = Conv2d(c, c, 3, padding: 1, bias: false);
            bn2 = BatchNorm2d(c);
            RegisterComponents();
        }

        public override Tensor forward(Tensor x)
        {
            var h = functional.relu(bn1.call(conv1.call(x)));
            h = bn2.call(conv2.call(h));
            return functional.relu(h + x);
        }
    }

    private sealed class ResNetTiny : Module<Tensor, Tensor>
    {
        private readonly Sequential stem = Sequential(Conv2d(3, 16, 3, padding: 1, bias: false), BatchNorm2d(16), ReLU());
        private readonly BasicBlock layer1 = new(16), layer2 = new(16);
        private readonly Linear fc = Linear(16, 5);

        public ResNetTiny() : base(nameof(ResNetTiny)) => RegisterComponents();

        public override Tensor forward(Tensor x)
        {
            x = layer2.call(layer1.call(stem.call(x)));
            return fc.call(functional.adaptive_avg_pool2d(x, 1).flatten(1));
        }
    }

    public override IReadOnlyList<Finding> Run(CaseContext ctx)
    {
        using var data = CorpusData.Images(1024, 3, 12, 5, ctx.Seed);
        var model = new ResNetTiny();
        var optimizer = optim.AdamW(model.parameters(), 1e-3, weight_decay: 1e-2);
        using var doctor = Doctor.Attach(model, optimizer, ctx.Options);
        foreach (var (x, y) in data.Batches(32, ctx.Steps, ctx.Seed))
        {
            using var scope = NewDisposeScope();
            doctor.BeginStep();
            optimizer.zero_grad();
            var loss = functional.cross_entropy(model.call(x), y);
            loss.backward();
            doctor.AfterBackward(loss);
            optimizer.step();
            doctor.EndStep();
        }
        return doctor.Findings;
    }
}
