using TorchDoctor.Findings;
using TorchDoctor.Training;
using TorchSharp;
using TorchSharp.Modules;
using static TorchSharp.torch;
using static TorchSharp.torch.nn;

namespace TorchDoctor.Corpus.Cases.Clean;

/// <summary>A plain two-hidden-layer MLP classifier with Adam: the doctor must stay quiet.</summary>
public sealed class MlpAdamMulticlass : CorpusCase
{
    public override CaseInfo Info => new()
    {
        Id = "clean-mlp-adam-multiclass",
        Kind = CaseKind.Clean,
        Title = "MLP (ReLU), 5-class cross_entropy, Adam 1e-3",
        Source = "PyTorch 'Learning PyTorch with Examples' / TorchSharp tutorial MLP",
        Steps = 300,
    };

    private sealed class Net : Module<Tensor, Tensor>
    {
        private readonly Sequential layers;

        public Net() : base(nameof(Net))
        {
            layers = Sequential(Linear(20, 128), ReLU(), Linear(128, 64), ReLU(), Linear(64, 5));
            RegisterComponents();
        }

        public override Tensor forward(Tensor x) => layers.call(x);
    }

    public override IReadOnlyList<Finding> Run(CaseContext ctx)
    {
        using var data = CorpusData.Blobs(2048, 20, 5, ctx.Seed);
        var model = new Net();
        var optimizer = optim.Adam(model.parameters(), lr: 1e-3);
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
