using TorchDoctor.Findings;
using TorchDoctor.Training;
using TorchSharp;
using TorchSharp.Modules;
using static TorchSharp.torch;
using static TorchSharp.torch.nn;

namespace TorchDoctor.Corpus.Cases.Memory;

/// <summary>A scoped loop that still keeps one small tensor per step (the batch accuracy) moved out of the step's scope: a slow leak.</summary>
public sealed class SmallTensorCachedPerStep : CorpusCase
{
    public override CaseInfo Info => new()
    {
        Id = "small-tensor-cached-per-step",
        Title = "accuracies.Add(acc.MoveToOuterDisposeScope()) keeps one scalar tensor per step although the step has a dispose scope",
        Source = "issue 13 acceptance (a slow leak of one small tensor per step, found within 200 steps); TorchSharp dispose-scope questions",
        Expected = new("TD6001", null),   // a leak is about the run, not a module
        Capability = Capabilities.Memory,
        Fix = "accuracies.Add(acc.item<float>())",
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
        var accuracies = new List<Tensor>();
        var values = new List<float>();
        foreach (var (x, y) in data.Batches(32, ctx.Steps, ctx.Seed))
        {
            using var scope = NewDisposeScope();
            doctor.BeginStep();
            optimizer.zero_grad();
            var output = model.call(x);
            var loss = functional.cross_entropy(output, y);
            loss.backward();
            doctor.AfterBackward(loss);
            optimizer.step();
            var acc = output.argmax(1).eq(y).to_type(ScalarType.Float32).mean();
            if (ctx.Fixed) values.Add(acc.item<float>());
            else accuracies.Add(acc.MoveToOuterDisposeScope());
            doctor.EndStep();
        }
        foreach (var t in accuracies) t.Dispose();
        return doctor.Findings;
    }
}
