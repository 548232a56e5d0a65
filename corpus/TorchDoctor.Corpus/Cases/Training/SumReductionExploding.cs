using TorchDoctor.Findings;
using TorchDoctor.Training;
using TorchSharp;
using TorchSharp.Modules;
using static TorchSharp.torch;
using static TorchSharp.torch.nn;

namespace TorchDoctor.Corpus.Cases.Training;

/// <summary>MSE with reduction Sum over a batch of 256 with an lr tuned for the mean: the effective step is 256× too large.</summary>
public sealed class SumReductionExploding : CorpusCase
{
    public override CaseInfo Info => new()
    {
        Id = "sum-reduction-exploding",
        Title = "mse_loss(reduction: Sum) over batches of 256 with SGD lr 0.01 (tuned for mean): updates 256× too large, the loss explodes",
        Source = "PyTorch forum 'loss explodes with reduction=sum'; AutoTrainer: exploding gradient; Stack Overflow 'MSELoss size_average'",
        Expected = new("TD2002", Expectation.Root),   // the loss rule measures the model: exploding-gradients names (root), the largest layer is evidence
        Fix = "reduction Mean (the same as lowering the learning rate 256×, the finding's advice)",
        Steps = 100,
    };

    private sealed class Regressor : Module<Tensor, Tensor>
    {
        private readonly Linear fc1 = Linear(8, 64), fc2 = Linear(64, 64), fc3 = Linear(64, 1);

        public Regressor() : base(nameof(Regressor)) => RegisterComponents();

        public override Tensor forward(Tensor x) => fc3.call(functional.relu(fc2.call(functional.relu(fc1.call(x)))));
    }

    public override IReadOnlyList<Finding> Run(CaseContext ctx)
    {
        using var data = CorpusData.Regression(4096, 8, ctx.Seed);
        var model = new Regressor();
        var optimizer = optim.SGD(model.parameters(), 0.01);
        var reduction = ctx.Fixed ? Reduction.Mean : Reduction.Sum;
        using var doctor = Doctor.Attach(model, optimizer, ctx.Options);
        foreach (var (x, y) in data.Batches(256, ctx.Steps, ctx.Seed))
        {
            using var scope = NewDisposeScope();
            doctor.BeginStep();
            optimizer.zero_grad();
            var loss = functional.mse_loss(model.call(x), y, reduction);
            loss.backward();
            doctor.AfterBackward(loss);
            optimizer.step();
            doctor.EndStep();
        }
        return doctor.Findings;
    }
}
