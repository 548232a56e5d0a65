using TorchDoctor.Findings;
using TorchDoctor.Training;
using TorchSharp;
using TorchSharp.Modules;
using static TorchSharp.torch;
using static TorchSharp.torch.nn;

namespace TorchDoctor.Corpus.Cases.Probes;

/// <summary>Issue 11: an MLP whose hidden biases start at -10, one 32-step epoch at default options.</summary>
public sealed class FirstEpochDeadRelu : CorpusCase
{
    public override CaseInfo Info => new()
    {
        Id = "first-epoch-dead-relu",
        Title = "MLP with fc1 bias initialised to -10: every relu1 unit is dead from step 0; one epoch of 32 steps at default options",
        Source = "DeepDiagnosis: dying ReLU; issue 11 (dead-relu missed in a 32-step epoch at default options)",
        Expected = new("TD2003", "relu1"),
        Capability = Capabilities.Probes,
        Attach = AttachMode.Defaults,
        Fix = "zero biases",
        Steps = 32,
    };

    private sealed class Net : Module<Tensor, Tensor>
    {
        private readonly Linear fc1 = Linear(16, 64), fc2 = Linear(64, 4);
        private readonly ReLU relu1 = ReLU();

        public Net(bool negative) : base(nameof(Net))
        {
            using (no_grad()) if (negative) init.constant_(fc1.bias!, -10.0); else init.zeros_(fc1.bias!);
            RegisterComponents();
        }

        public override Tensor forward(Tensor x) => fc2.call(relu1.call(fc1.call(x)));
    }

    public override IReadOnlyList<Finding> Run(CaseContext ctx)
    {
        using var data = CorpusData.Blobs(1024, 16, 4, ctx.Seed);
        var model = new Net(negative: !ctx.Fixed);
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
