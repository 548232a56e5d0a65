using TorchDoctor.Findings;
using TorchDoctor.Training;
using TorchSharp;
using TorchSharp.Modules;
using static TorchSharp.torch;
using static TorchSharp.torch.nn;

namespace TorchDoctor.Corpus.Cases.Training;

/// <summary>Regression on house prices in dollars (targets ~1e5) without scaling: the first gradients are enormous.</summary>
public sealed class UnscaledTargetsExploding : CorpusCase
{
    public override CaseInfo Info => new()
    {
        Id = "unscaled-targets-exploding",
        Title = "Regression targets in the hundreds of thousands (prices), not standardised, SGD 0.001: the loss and gradients blow up",
        Source = "Stack Overflow 'regression loss is huge / nan: scale your target'; 'large loss due to target with large range' (target normalisation); AutoTrainer: exploding gradient",
        Expected = new("TD2002", Expectation.Root),   // the loss rule measures the model: exploding-gradients names (root), the largest layer is evidence
        Fix = "standardise the targets ((y - mean) / std) and predict in that scale",
        Steps = 100,
    };

    private sealed class Regressor : Module<Tensor, Tensor>
    {
        private readonly Linear fc1 = Linear(8, 32), fc2 = Linear(32, 1);

        public Regressor() : base(nameof(Regressor)) => RegisterComponents();

        public override Tensor forward(Tensor x) => fc2.call(functional.relu(fc1.call(x)));
    }

    public override IReadOnlyList<Finding> Run(CaseContext ctx)
    {
        using var data = CorpusData.Regression(2048, 8, ctx.Seed, scale: 1e5, offset: 3e5);
        if (ctx.Fixed)
            using (no_grad()) data.Y.sub_(data.Y.mean()).div_(data.Y.std());
        var model = new Regressor();
        var optimizer = optim.SGD(model.parameters(), 0.001);
        using var doctor = Doctor.Attach(model, optimizer, ctx.Options);
        foreach (var (x, y) in data.Batches(64, ctx.Steps, ctx.Seed))
        {
            using var scope = NewDisposeScope();
            doctor.BeginStep();
            optimizer.zero_grad();
            var loss = functional.mse_loss(model.call(x), y);
            loss.backward();
            doctor.AfterBackward(loss);
            optimizer.step();
            doctor.EndStep();
        }
        return doctor.Findings;
    }
}
