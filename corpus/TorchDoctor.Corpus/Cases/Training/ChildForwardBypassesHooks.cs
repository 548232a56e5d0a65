using TorchDoctor.Findings;
using TorchDoctor.Training;
using TorchSharp;
using TorchSharp.Modules;
using static TorchSharp.torch;
using static TorchSharp.torch.nn;

namespace TorchDoctor.Corpus.Cases.Training;

/// <summary>A custom block calls its child's forward() directly: TorchSharp hooks (and every hook-based tool) never see it.</summary>
public sealed class ChildForwardBypassesHooks : CorpusCase
{
    public override CaseInfo Info => new()
    {
        Id = "child-forward-bypasses-hooks",
        Title = "Custom block calls proj.forward(x) instead of proj.call(x): hooks on proj never fire",
        Source = "TorchSharp docs/issues: forward hooks fire only through Module.call (dotnet/TorchSharp hooks discussions); TorchSharp-specific trap",
        Expected = new("TD1001", "block.proj"),
        Fix = "proj.call(x) (the finding's advice)",
        Steps = 40,
    };

    private sealed class Block : Module<Tensor, Tensor>
    {
        private readonly Linear proj = Linear(32, 32);
        private readonly bool _viaCall;

        public Block(bool viaCall) : base(nameof(Block))
        {
            _viaCall = viaCall;
            RegisterComponents();
        }

        public override Tensor forward(Tensor x) => x + functional.relu(_viaCall ? proj.call(x) : proj.forward(x));
    }

    private sealed class Net : Module<Tensor, Tensor>
    {
        private readonly Linear stem = Linear(16, 32), head = Linear(32, 4);
        private readonly Block block;

        public Net(bool viaCall) : base(nameof(Net))
        {
            block = new Block(viaCall);
            RegisterComponents();
        }

        public override Tensor forward(Tensor x) => head.call(block.call(stem.call(x)));
    }

    public override IReadOnlyList<Finding> Run(CaseContext ctx)
    {
        using var data = CorpusData.Blobs(1024, 16, 4, ctx.Seed);
        var model = new Net(viaCall: ctx.Fixed);
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
