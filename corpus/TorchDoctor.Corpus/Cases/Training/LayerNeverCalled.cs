using TorchDoctor.Findings;
using TorchDoctor.Training;
using TorchSharp;
using TorchSharp.Modules;
using static TorchSharp.torch;
using static TorchSharp.torch.nn;

namespace TorchDoctor.Corpus.Cases.Training;

/// <summary>forward() calls fc2 twice instead of fc2 then fc3 (a copy-paste slip): fc3 is registered but never runs.</summary>
public sealed class LayerNeverCalled : CorpusCase
{
    public override CaseInfo Info => new()
    {
        Id = "layer-never-called",
        Title = "Copy-paste slip in forward: fc2 is applied twice and fc3 is never called; fc3 gets no gradient",
        Source = "PyTorch DDP error 'parameters that were not used in producing loss' (find_unused_parameters) threads; Stack Overflow 'layer weights never change'",
        Expected = new("TD2011", "fc3"),
        Fix = "call fc3 (the finding's advice: call the module in forward)",
        Steps = 60,
    };

    private sealed class Net : Module<Tensor, Tensor>
    {
        private readonly Linear fc1 = Linear(16, 32), fc2 = Linear(32, 32), fc3 = Linear(32, 32), head = Linear(32, 4);
        private readonly bool _slip;

        public Net(bool slip) : base(nameof(Net))
        {
            _slip = slip;
            RegisterComponents();
        }

        public override Tensor forward(Tensor x)
        {
            x = functional.relu(fc1.call(x));
            x = functional.relu(fc2.call(x));
            x = functional.relu(_slip ? fc2.call(x) : fc3.call(x));
            return head.call(x);
        }
    }

    public override IReadOnlyList<Finding> Run(CaseContext ctx)
    {
        using var data = CorpusData.Blobs(1024, 16, 4, ctx.Seed);
        var model = new Net(slip: !ctx.Fixed);
        var optimizer = optim.Adam(model.parameters(), 1e-3);
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
