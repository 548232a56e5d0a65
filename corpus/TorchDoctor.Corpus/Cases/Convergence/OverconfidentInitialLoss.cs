using TorchDoctor.Findings;
using TorchDoctor.Observations;
using TorchDoctor.Training;
using TorchSharp;
using TorchSharp.Modules;
using static TorchSharp.torch;
using static TorchSharp.torch.nn;

namespace TorchDoctor.Corpus.Cases.Convergence;

/// <summary>Output layer initialised with large weights: the first loss is far above ln C.</summary>
public sealed class OverconfidentInitialLoss : CorpusCase
{
    public override CaseInfo Info => new()
    {
        Id = "overconfident-initial-loss",
        Title = "Output Linear initialised with init.normal_(w, 0, 3): confident random logits, first loss ~15 instead of ln 10 = 2.3",
        Source = "Karpathy, 'A recipe for training neural networks' (verify loss @ init); CS231n; issue 12 (initial loss vs ln C)",
        Expected = new("TD2110", null),
        Capability = Capabilities.Convergence,
        Fix = "default initialisation of the output layer",
        Steps = 100,
    };

    private sealed class Net : Module<Tensor, Tensor>
    {
        private readonly Linear fc1 = Linear(20, 64), fc2 = Linear(64, 10);

        public Net(bool large) : base(nameof(Net))
        {
            if (large) using (no_grad()) init.normal_(fc2.weight, 0, 3);
            RegisterComponents();
        }

        public override Tensor forward(Tensor x) => fc2.call(functional.relu(fc1.call(x)));
    }

    public override IReadOnlyList<Finding> Run(CaseContext ctx)
    {
        using var data = CorpusData.Blobs(2048, 20, 10, ctx.Seed);
        var model = new Net(large: !ctx.Fixed);
        var optimizer = optim.Adam(model.parameters(), 1e-3);
        using var doctor = Doctor.Attach(model, optimizer, ctx.Options);
        foreach (var (x, y) in data.Batches(64, ctx.Steps, ctx.Seed))
        {
            using var scope = NewDisposeScope();
            doctor.BeginStep();
            optimizer.zero_grad();
            var loss = doctor.Loss(model.call(x), y, LossKind.CrossEntropy);   // cross_entropy, checked
            loss.backward();
            doctor.AfterBackward(loss);
            optimizer.step();
            doctor.EndStep();
        }
        return doctor.Findings;
    }
}
