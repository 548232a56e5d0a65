using TorchDoctor.Findings;
using TorchDoctor.Training;
using TorchSharp;
using TorchSharp.Modules;
using static TorchSharp.torch;
using static TorchSharp.torch.nn;

namespace TorchDoctor.Corpus.Cases.Training;

/// <summary>Every Linear initialised to zeros ("start from a neutral model"): the hidden ReLUs output 0 for every input.</summary>
public sealed class ZeroInitDeadRelu : CorpusCase
{
    public override CaseInfo Info => new()
    {
        Id = "zero-init-dead-relu",
        Title = "MLP whose weights and biases are all set to zero before training: every hidden ReLU outputs 0 and never learns",
        Source = "DeepDiagnosis / UMLAUT: wrong weight initialisation (all zeros, symmetry); Stack Overflow 'why not initialise weights to zero'",
        Expected = new("TD2003", "relu1"),
        Fix = "keep TorchSharp's default (Kaiming-uniform) initialisation",
        Steps = 150,
    };

    private sealed class Net : Module<Tensor, Tensor>
    {
        private readonly Linear fc1 = Linear(16, 64), fc2 = Linear(64, 3);
        private readonly ReLU relu1 = ReLU();

        public Net() : base(nameof(Net)) => RegisterComponents();

        public override Tensor forward(Tensor x) => fc2.call(relu1.call(fc1.call(x)));
    }

    public override IReadOnlyList<Finding> Run(CaseContext ctx)
    {
        using var data = CorpusData.Blobs(1024, 16, 3, ctx.Seed);
        var model = new Net();
        if (ctx.Buggy)
            using (no_grad())
                foreach (var p in model.parameters()) p.zero_();
        var optimizer = optim.SGD(model.parameters(), 0.05);
        using var doctor = Doctor.Attach(model, optimizer, ctx.Options);
        foreach (var (x, y) in data.Batches(32, ctx.Steps, ctx.Seed))
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
