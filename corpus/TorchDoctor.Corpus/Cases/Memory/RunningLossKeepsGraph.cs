using TorchDoctor.Findings;
using TorchDoctor.Training;
using TorchSharp;
using TorchSharp.Modules;
using static TorchSharp.torch;
using static TorchSharp.torch.nn;

namespace TorchDoctor.Corpus.Cases.Memory;

/// <summary>total = total + loss keeps every step's autograd graph alive (a native-memory leak the GC does not see).</summary>
public sealed class RunningLossKeepsGraph : CorpusCase
{
    public override CaseInfo Info => new()
    {
        Id = "running-loss-keeps-graph",
        Title = "Epoch loss summed as a tensor (total = total + loss) outside the dispose scope: every step's graph stays alive",
        Source = "PyTorch FAQ 'my model reports cuda runtime error(2): out of memory' (total_loss += loss); TorchSharp memory-management docs (dispose scopes); issue 13 (leaks)",
        Expected = new("TD6002", null),   // graph leak: a kept tensor chains every step's graph (docs/findings.md)
        Capability = Capabilities.Memory,
        Fix = "total += loss.item<float>()",
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
        Tensor total = zeros(1).MoveToOuterDisposeScope();
        double totalValue = 0;
        foreach (var (x, y) in data.Batches(32, ctx.Steps, ctx.Seed))
        {
            Tensor loss;
            using (var scope = NewDisposeScope())
            {
                doctor.BeginStep();
                optimizer.zero_grad();
                loss = functional.cross_entropy(model.call(x), y);
                loss.backward();
                doctor.AfterBackward(loss);
                optimizer.step();
                doctor.EndStep();
                if (ctx.Fixed) totalValue += loss.item<float>();
                else total = (total + loss).MoveToOuterDisposeScope();
            }
        }
        GC.KeepAlive(totalValue);
        return doctor.Findings;
    }
}
