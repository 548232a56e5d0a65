using TorchDoctor.Findings;
using TorchDoctor.Training;
using TorchSharp;
using TorchSharp.Modules;
using static TorchSharp.torch;
using static TorchSharp.torch.nn;

namespace TorchDoctor.Corpus.Cases.Memory;

/// <summary>Per-step losses appended to a List&lt;Tensor&gt; for plotting: each keeps its graph and storage alive.</summary>
public sealed class LossesStoredAsTensors : CorpusCase
{
    public override CaseInfo Info => new()
    {
        Id = "losses-stored-as-tensors",
        Title = "history.Add(loss) keeps a List<Tensor> of losses (with their graphs) for a plot after training",
        Source = "PyTorch forum 'memory grows every iteration: storing loss tensors in a list'; TorchSharp#1000-series dispose questions; issue 13 (a tensor held by a list)",
        Expected = new("tensor-leak", Expectation.Root),
        Capability = Capabilities.Memory,
        Fix = "history.Add(loss.item<float>())",
        Steps = 200,
    };

    private sealed class Net : Module<Tensor, Tensor>
    {
        private readonly Linear fc1 = Linear(16, 64), fc2 = Linear(64, 4);
        private readonly ReLU relu = ReLU();

        public Net() : base(nameof(Net)) => RegisterComponents();

        public override Tensor forward(Tensor x) => fc2.call(relu.call(fc1.call(x)));
    }

    public override IReadOnlyList<Finding> Run(CaseContext ctx)
    {
        using var data = CorpusData.Blobs(1024, 16, 4, ctx.Seed);
        var model = new Net();
        var optimizer = optim.Adam(model.parameters(), 1e-3);
        using var doctor = Doctor.Attach(model, optimizer, ctx.Options);
        var history = new List<Tensor>();
        var values = new List<float>();
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
            if (ctx.Fixed) values.Add(loss.item<float>());
            else history.Add(loss.MoveToOuterDisposeScope());
        }
        foreach (var t in history) t.Dispose();
        return doctor.Findings;
    }
}
