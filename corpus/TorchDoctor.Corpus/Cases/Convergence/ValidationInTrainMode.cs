using TorchDoctor.Findings;
using TorchDoctor.Training;
using TorchSharp;
using TorchSharp.Modules;
using static TorchSharp.torch;
using static TorchSharp.torch.nn;

namespace TorchDoctor.Corpus.Cases.Convergence;

/// <summary>Validation without model.eval(): Dropout and BatchNorm stay in training mode during evaluation.</summary>
public sealed class ValidationInTrainMode : CorpusCase
{
    public override CaseInfo Info => new()
    {
        Id = "validation-in-train-mode",
        Title = "Validation every 20 steps under no_grad() but without model.eval(): dropout active and BatchNorm statistics updated by validation data",
        Source = "Stack Overflow 'model.eval() vs torch.no_grad()'; PyTorch forum 'validation accuracy fluctuates: forgot model.eval()'; issue 12 (loop mistakes)",
        Expected = new("TD2114", "layers.1"),
        Capability = Capabilities.Convergence,
        Fix = "model.eval() before validation (model.train() after, as before)",
        Steps = 200,
    };

    private sealed class Net : Module<Tensor, Tensor>
    {
        private readonly Sequential layers = Sequential(Linear(20, 64), BatchNorm1d(64), ReLU(), Dropout(0.5), Linear(64, 5));

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
            if (++step % 20 == 0)
            {
                if (ctx.Fixed) model.eval();
                using (no_grad()) functional.cross_entropy(model.call(val.X), val.Y);
                model.train();
            }
        }
        return doctor.Findings;
    }
}
