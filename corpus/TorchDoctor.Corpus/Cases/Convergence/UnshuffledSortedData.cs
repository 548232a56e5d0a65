using TorchDoctor.Findings;
using TorchDoctor.Observations;
using TorchDoctor.Training;
using TorchSharp;
using TorchSharp.Modules;
using static TorchSharp.torch;
using static TorchSharp.torch.nn;

namespace TorchDoctor.Corpus.Cases.Convergence;

/// <summary>Batches drawn in file order from a label-sorted dataset: each batch holds one class, the loss oscillates.</summary>
public sealed class UnshuffledSortedData : CorpusCase
{
    public override CaseInfo Info => new()
    {
        Id = "unshuffled-sorted-data",
        Title = "Training data sorted by label and batched in order (shuffle=false): every batch is one class, the loss swings between classes",
        Source = "Stack Overflow 'validation accuracy stuck: forgot to shuffle'; AutoTrainer: oscillating loss; issue 12 (oscillation); TD3019 of the data checker, seen from the loop",
        Expected = new("TD3019", null),
        Capability = Capabilities.Convergence,
        Fix = "shuffled batches",
        Steps = 160,
    };

    private sealed class Net : Module<Tensor, Tensor>
    {
        private readonly Linear fc1 = Linear(20, 64), fc2 = Linear(64, 5);
        private readonly ReLU relu = ReLU();

        public Net() : base(nameof(Net)) => RegisterComponents();

        public override Tensor forward(Tensor x) => fc2.call(relu.call(fc1.call(x)));
    }

    public override IReadOnlyList<Finding> Run(CaseContext ctx)
    {
        using var data = CorpusData.Blobs(2048, 20, 5, ctx.Seed);
        var (_, order) = data.Y.sort();
        using var xs = data.X.index_select(0, order);
        using var ys = data.Y.index_select(0, order);
        var model = new Net();
        var optimizer = optim.SGD(model.parameters(), 0.05);
        using var doctor = Doctor.Attach(model, optimizer, ctx.Options);
        using var gen = new Generator((ulong)ctx.Seed);
        for (int step = 0; step < ctx.Steps; step++)
        {
            using var scope = NewDisposeScope();
            var idx = ctx.Fixed ? randint(2048, [64], generator: gen) : arange((step * 64) % 2048, (step * 64) % 2048 + 64);
            var x = xs.index_select(0, idx);
            var y = ys.index_select(0, idx);
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
