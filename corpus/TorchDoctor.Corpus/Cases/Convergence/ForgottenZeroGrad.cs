using TorchDoctor.Findings;
using TorchDoctor.Training;
using TorchSharp;
using TorchSharp.Modules;
using static TorchSharp.torch;
using static TorchSharp.torch.nn;

namespace TorchDoctor.Corpus.Cases.Convergence;

/// <summary>The loop never calls optimizer.zero_grad(): gradients accumulate over every step.</summary>
public sealed class ForgottenZeroGrad : CorpusCase
{
    public override CaseInfo Info => new()
    {
        Id = "forgotten-zero-grad",
        Title = "optimizer.zero_grad() missing from the loop: gradients accumulate across steps, the effective step grows every iteration",
        Source = "PyTorch forum / Stack Overflow 'why do we need to call zero_grad()'; issue 9 trial; issue 12 (loop mistakes)",
        Expected = new("TD2117", null),
        Capability = Capabilities.Convergence,
        Fix = "call optimizer.zero_grad() before backward",
        Steps = 150,
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
        var optimizer = optim.SGD(model.parameters(), 0.01, momentum: 0.9);
        using var doctor = Doctor.Attach(model, optimizer, ctx.Options);
        foreach (var (x, y) in data.Batches(32, ctx.Steps, ctx.Seed))
        {
            using var scope = NewDisposeScope();
            doctor.BeginStep();
            if (ctx.Fixed) optimizer.zero_grad();
            var loss = functional.cross_entropy(model.call(x), y);
            loss.backward();
            doctor.AfterBackward(loss);
            optimizer.step();
            doctor.EndStep();
        }
        return doctor.Findings;
    }
}
