using TorchDoctor.Findings;
using TorchDoctor.Observations;
using TorchDoctor.Training;
using TorchSharp;
using TorchSharp.Modules;
using static TorchSharp.torch;
using static TorchSharp.torch.nn;

namespace TorchDoctor.Corpus.Cases.Convergence;

/// <summary>mse_loss of a [N, 1] prediction against a [N] target broadcasts to [N, N]: the model learns the mean.</summary>
public sealed class MseTargetBroadcast : CorpusCase
{
    public override CaseInfo Info => new()
    {
        Id = "mse-target-broadcast",
        Title = "mse_loss(pred [N,1], target [N]) broadcasts to [N,N] (libtorch only warns on stderr): the regressor learns to predict the mean",
        Source = "Stack Overflow 'MSELoss target size different to input size, regression predicts constant'; PyTorch UserWarning 'Using a target size that is different to the input size'; issue 12 (loss calls)",
        Expected = new("TD2112", null),
        Capability = Capabilities.Convergence,
        Fix = "target.unsqueeze(1) (same shape as the prediction)",
        Steps = 200,
    };

    private sealed class Net : Module<Tensor, Tensor>
    {
        private readonly Linear fc1 = Linear(8, 64), fc2 = Linear(64, 1);
        private readonly ReLU relu = ReLU();

        public Net() : base(nameof(Net)) => RegisterComponents();

        public override Tensor forward(Tensor x) => fc2.call(relu.call(fc1.call(x)));
    }

    public override IReadOnlyList<Finding> Run(CaseContext ctx)
    {
        using var data = CorpusData.Regression(2048, 8, ctx.Seed);
        using var flat = data.Y.squeeze(1);               // targets read from a CSV column: shape [N]
        var model = new Net();
        var optimizer = optim.Adam(model.parameters(), 1e-3);
        using var doctor = Doctor.Attach(model, optimizer, ctx.Options);
        using var gen = new Generator((ulong)ctx.Seed);
        for (int step = 0; step < ctx.Steps; step++)
        {
            using var scope = NewDisposeScope();
            var idx = randint(data.Count, [64], generator: gen);
            var x = data.X.index_select(0, idx);
            var y = flat.index_select(0, idx);
            if (ctx.Fixed) y = y.unsqueeze(1);
            doctor.BeginStep();
            optimizer.zero_grad();
            var loss = doctor.Loss(model.call(x), y, LossKind.Mse);   // mse_loss, checked
            loss.backward();
            doctor.AfterBackward(loss);
            optimizer.step();
            doctor.EndStep();
        }
        return doctor.Findings;
    }
}
