using TorchDoctor.Findings;
using TorchDoctor.Training;
using TorchSharp;
using TorchSharp.Modules;
using static TorchSharp.torch;
using static TorchSharp.torch.nn;

namespace TorchDoctor.Corpus.Cases.Training;

/// <summary>A regression net ending in ReLU while most targets are negative: the output unit dies.</summary>
public sealed class OutputReluRegression : CorpusCase
{
    public override CaseInfo Info => new()
    {
        Id = "output-relu-regression",
        Title = "Regression MLP with a ReLU after the output Linear (copied from the hidden layers); most targets are negative",
        Source = "UMLAUT: wrong last-layer activation; Stack Overflow 'regression network predicts only zeros'",
        Expected = new("TD2003", "out_act"),
        Fix = "no activation after the output layer",
        Steps = 200,
    };

    private sealed class Regressor : Module<Tensor, Tensor>
    {
        private readonly Linear fc1 = Linear(8, 64), fc2 = Linear(64, 1);
        private readonly ReLU act = ReLU();
        private readonly Module<Tensor, Tensor> out_act;

        public Regressor(bool outputRelu) : base(nameof(Regressor))
        {
            out_act = outputRelu ? ReLU() : Identity();
            RegisterComponents();
        }

        public override Tensor forward(Tensor x) => out_act.call(fc2.call(act.call(fc1.call(x))));
    }

    public override IReadOnlyList<Finding> Run(CaseContext ctx)
    {
        using var data = CorpusData.Regression(2048, 8, ctx.Seed, scale: 1.0, offset: -2.0);
        var model = new Regressor(outputRelu: !ctx.Fixed);
        var optimizer = optim.Adam(model.parameters(), 1e-3);
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
