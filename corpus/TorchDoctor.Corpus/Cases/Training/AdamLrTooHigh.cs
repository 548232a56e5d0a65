using TorchDoctor.Findings;
using TorchDoctor.Training;
using TorchSharp;
using TorchSharp.Modules;
using static TorchSharp.torch;
using static TorchSharp.torch.nn;

namespace TorchDoctor.Corpus.Cases.Training;

/// <summary>
/// Adam at lr 0.1 on a ReLU MLP: the loss falls, then rises to 19× its best (issue 12's trial case: named as an LR too high,
/// nothing contradicting). The ReLUs look dead by DeepDiagnosis's rule (74% and 77% zeros) but are not: every relu1 unit
/// and 80% of relu2's fire for some sample of the 20 sampled batches (measured with the union of fired units, 2026-11-30),
/// so the expectation is the cause, lr-too-high, no longer dead-relu at relu1.
/// </summary>
public sealed class AdamLrTooHigh : CorpusCase
{
    public override CaseInfo Info => new()
    {
        Id = "adam-lr-too-high",
        Title = "Adam with lr=0.1 (copied from an SGD recipe) on a ReLU MLP: the loss diverges after its first fall",
        Source = "UMLAUT: 'learning rate too high for Adam (> 0.01)'; issue 9 trial (dead-relu vs update-ratio-low advice); issue 12 trial (Adam lr 0.1)",
        Expected = new("TD2103", null),
        Fix = "Adam lr 1e-3",
        Steps = 300,
    };

    private sealed class Net : Module<Tensor, Tensor>
    {
        private readonly Linear fc1, fc2, fc3;
        private readonly ReLU relu1 = ReLU(), relu2 = ReLU();

        public Net() : base(nameof(Net))
        {
            fc1 = Linear(20, 128);
            fc2 = Linear(128, 64);
            fc3 = Linear(64, 5);
            RegisterComponents();
        }

        public override Tensor forward(Tensor x) => fc3.call(relu2.call(fc2.call(relu1.call(fc1.call(x)))));
    }

    public override IReadOnlyList<Finding> Run(CaseContext ctx)
    {
        using var data = CorpusData.Blobs(2048, 20, 5, ctx.Seed);
        var model = new Net();
        var optimizer = optim.Adam(model.parameters(), lr: ctx.Fixed ? 1e-3 : 0.1);
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
