using TorchDoctor.Findings;
using TorchDoctor.Training;
using TorchSharp;
using TorchSharp.Modules;
using static TorchSharp.torch;
using static TorchSharp.torch.nn;

namespace TorchDoctor.Corpus.Cases.Clean;

/// <summary>A regression MLP (Tanh, Xavier init) trained with MSE and AdamW.</summary>
public sealed class RegressionAdamW : CorpusCase
{
    public override CaseInfo Info => new()
    {
        Id = "clean-regression-tanh-adamw",
        Kind = CaseKind.Clean,
        Title = "Regression MLP with Tanh hidden layers and Xavier init, mse_loss, AdamW 3e-3",
        Source = "scikit-learn-style tabular regression ported to TorchSharp",
        Steps = 300,
    };

    private sealed class Regressor : Module<Tensor, Tensor>
    {
        private readonly Sequential net = Sequential(Linear(8, 64), Tanh(), Linear(64, 64), Tanh(), Linear(64, 1));

        public Regressor() : base(nameof(Regressor))
        {
            using (no_grad())
                foreach (var (_, m) in net.named_children())
                    if (m is Linear l) { init.xavier_uniform_(l.weight); init.zeros_(l.bias!); }
            RegisterComponents();
        }

        public override Tensor forward(Tensor x) => net.call(x);
    }

    public override IReadOnlyList<Finding> Run(CaseContext ctx)
    {
        using var data = CorpusData.Regression(2048, 8, ctx.Seed);
        var model = new Regressor();
        var optimizer = optim.AdamW(model.parameters(), 3e-3);
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
