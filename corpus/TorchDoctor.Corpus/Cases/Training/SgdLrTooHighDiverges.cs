using TorchDoctor.Findings;
using TorchDoctor.Training;
using TorchSharp;
using TorchSharp.Modules;
using static TorchSharp.torch;
using static TorchSharp.torch.nn;

namespace TorchDoctor.Corpus.Cases.Training;

/// <summary>SGD with lr 1.0 (copied from a logistic-regression example) on a deeper MLP: the loss diverges.</summary>
public sealed class SgdLrTooHighDiverges : CorpusCase
{
    public override CaseInfo Info => new()
    {
        Id = "sgd-lr-too-high-diverges",
        Title = "SGD lr=1.0 with momentum 0.9 on a 3-layer MLP: weights grow every step until the loss explodes",
        Source = "Data Science SE 'why is learning rate causing my weights to skyrocket'; AutoTrainer: exploding gradient / UMLAUT: learning rate too high",
        Expected = new("TD2002", Expectation.Root),   // the loss rule measures the model: exploding-gradients names (root), the largest layer is evidence
        Fix = "SGD lr 0.01 (the finding's advice: lower the learning rate)",
        Steps = 100,
    };

    private sealed class Net : Module<Tensor, Tensor>
    {
        private readonly Linear fc1 = Linear(20, 128), fc2 = Linear(128, 128), fc3 = Linear(128, 5);

        public Net() : base(nameof(Net)) => RegisterComponents();

        public override Tensor forward(Tensor x) => fc3.call(functional.relu(fc2.call(functional.relu(fc1.call(x)))));
    }

    public override IReadOnlyList<Finding> Run(CaseContext ctx)
    {
        using var data = CorpusData.Blobs(2048, 20, 5, ctx.Seed, spread: 3);
        var model = new Net();
        var optimizer = optim.SGD(model.parameters(), ctx.Fixed ? 0.01 : 1.0, momentum: 0.9);
        using var doctor = Doctor.Attach(model, optimizer, ctx.Options);
        foreach (var (x, y) in data.Batches(64, ctx.Steps, ctx.Seed))
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
