using TorchDoctor.Findings;
using TorchDoctor.Training;
using TorchSharp;
using TorchSharp.Modules;
using static TorchSharp.torch;
using static TorchSharp.torch.nn;

namespace TorchDoctor.Corpus.Cases.Memory;

/// <summary>A TorchSharp loop without a dispose scope: every step's tensors wait for the GC's finalizer.</summary>
public sealed class NoDisposeScopeInLoop : CorpusCase
{
    public override CaseInfo Info => new()
    {
        Id = "no-dispose-scope-in-loop",
        Title = "Training loop written as in PyTorch, with no NewDisposeScope(): activations, gradients' temporaries and batches pile up until the GC runs",
        Source = "TorchSharp docs 'Memory management' and issues on native memory growing during training (dotnet/TorchSharp); issue 13 (tensors created outside a dispose scope)",
        Expected = new("TD6001", null),   // a leak is about the run, not a module
        Capability = Capabilities.MemoryUnreachable,   // see Capabilities.MemoryUnreachable: not a reachable-tensor leak
        Fix = "using var scope = NewDisposeScope() per step",
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
        foreach (var (x, y) in data.Batches(32, ctx.Steps, ctx.Seed))
        {
            using var scope = ctx.Fixed ? NewDisposeScope() : null;
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
