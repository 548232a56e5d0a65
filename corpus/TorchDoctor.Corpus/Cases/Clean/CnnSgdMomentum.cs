using TorchDoctor.Findings;
using TorchDoctor.Training;
using TorchSharp;
using TorchSharp.Modules;
using static TorchSharp.torch;
using static TorchSharp.torch.nn;

namespace TorchDoctor.Corpus.Cases.Clean;

/// <summary>A small LeNet-style CNN with SGD + momentum.</summary>
public sealed class CnnSgdMomentum : CorpusCase
{
    public override CaseInfo Info => new()
    {
        Id = "clean-cnn-sgd-momentum",
        Kind = CaseKind.Clean,
        Title = "LeNet-style CNN (Conv-ReLU-MaxPool ×2, two Linear), SGD lr 0.01 momentum 0.9",
        Source = "PyTorch CIFAR-10 tutorial network, scaled to 16×16",
        Steps = 200,
    };

    private sealed class LeNet : Module<Tensor, Tensor>
    {
        private readonly Conv2d conv1 = Conv2d(3, 6, 3, padding: 1), conv2 = Conv2d(6, 16, 3, padding: 1);
        private readonly MaxPool2d pool = MaxPool2d(2);
        private readonly Linear fc1 = Linear(16 * 4 * 4, 64), fc2 = Linear(64, 6);

        public LeNet() : base(nameof(LeNet)) => RegisterComponents();

        public override Tensor forward(Tensor x)
        {
            x = pool.call(functional.relu(conv1.call(x)));
            x = pool.call(functional.relu(conv2.call(x)));
            return fc2.call(functional.relu(fc1.call(x.flatten(1))));
        }
    }

    public override IReadOnlyList<Finding> Run(CaseContext ctx)
    {
        using var data = CorpusData.Images(1024, 3, 16, 6, ctx.Seed);
        var model = new LeNet();
        var optimizer = optim.SGD(model.parameters(), 0.01, momentum: 0.9);
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
