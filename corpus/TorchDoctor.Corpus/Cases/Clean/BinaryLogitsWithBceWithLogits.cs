using TorchDoctor.Findings;
using TorchDoctor.Training;
using TorchSharp;
using TorchSharp.Modules;
using static TorchSharp.torch;
using static TorchSharp.torch.nn;

namespace TorchDoctor.Corpus.Cases.Clean;

/// <summary>A binary classifier on logits with binary_cross_entropy_with_logits and a OneCycle-like cosine schedule.</summary>
public sealed class BinaryLogitsCosine : CorpusCase
{
    public override CaseInfo Info => new()
    {
        Id = "clean-binary-logits-cosine",
        Kind = CaseKind.Clean,
        Title = "Binary classifier emitting a logit, binary_cross_entropy_with_logits, Adam 3e-3 with CosineAnnealingLR stepped per batch",
        Source = "PyTorch docs: BCEWithLogitsLoss; CosineAnnealingLR",
        Steps = 300,
    };

    private sealed class Net : Module<Tensor, Tensor>
    {
        private readonly Linear fc1 = Linear(10, 64), fc2 = Linear(64, 32), fc3 = Linear(32, 1);

        public Net() : base(nameof(Net)) => RegisterComponents();

        public override Tensor forward(Tensor x) => fc3.call(functional.gelu(fc2.call(functional.gelu(fc1.call(x)))));
    }

    public override IReadOnlyList<Finding> Run(CaseContext ctx)
    {
        using var data = CorpusData.Binary(2048, 10, ctx.Seed);
        var model = new Net();
        var optimizer = optim.Adam(model.parameters(), 3e-3);
        var scheduler = optim.lr_scheduler.CosineAnnealingLR(optimizer, T_max: ctx.Steps);
        using var doctor = Doctor.Attach(model, optimizer, ctx.Options);
        foreach (var (x, y) in data.Batches(64, ctx.Steps, ctx.Seed))
        {
            using var scope = NewDisposeScope();
            doctor.BeginStep();
            optimizer.zero_grad();
            var loss = functional.binary_cross_entropy_with_logits(model.call(x), y);
            loss.backward();
            doctor.AfterBackward(loss);
            optimizer.step();
            doctor.EndStep();
            scheduler.step();
        }
        return doctor.Findings;
    }
}
