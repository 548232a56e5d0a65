using TorchDoctor.Findings;
using TorchDoctor.Training;
using TorchSharp;
using TorchSharp.Modules;
using static TorchSharp.torch;
using static TorchSharp.torch.nn;

namespace TorchDoctor.Corpus.Cases.Convergence;

/// <summary>model.eval() for validation, but model.train() is never called again: training continues in eval mode.</summary>
public sealed class TrainNeverCalledAgain : CorpusCase
{
    public override CaseInfo Info => new()
    {
        Id = "train-never-called-again",
        Title = "Validation after the first epoch calls model.eval() and never model.train(): Dropout off and BatchNorm frozen for the rest of training",
        Source = "PyTorch forum 'forgot model.train() after validation'; issue 12 (loop mistakes: train() never called again)",
        Expected = new("TD2116", null),
        Capability = Capabilities.Convergence,
        Fix = "model.train() after validation",
        Steps = 160,
    };

    private sealed class Net : Module<Tensor, Tensor>
    {
        private readonly Sequential layers = Sequential(Linear(20, 64), BatchNorm1d(64), ReLU(), Dropout(0.3), Linear(64, 5));

        public Net() : base(nameof(Net)) => RegisterComponents();

        public override Tensor forward(Tensor x) => layers.call(x);
    }

    public override IReadOnlyList<Finding> Run(CaseContext ctx)
    {
        using var all = CorpusData.Blobs(2304, 20, 5, ctx.Seed);
        using var data = all.Slice(0, 2048);
        using var val = all.Slice(2048, 256);                            // held-out validation samples
        var model = new Net();
        var optimizer = optim.Adam(model.parameters(), 1e-3);
        using var doctor = Doctor.Attach(model, optimizer, ctx.Options);
        int step = 0;
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
            if (++step % 32 == 0)
            {
                model.eval();
                using (no_grad()) functional.cross_entropy(model.call(val.X), val.Y);
                if (ctx.Fixed) model.train();
            }
        }
        return doctor.Findings;
    }
}
