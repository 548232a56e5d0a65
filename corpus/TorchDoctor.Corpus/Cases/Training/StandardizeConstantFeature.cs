using TorchDoctor.Findings;
using TorchDoctor.Training;
using TorchSharp;
using TorchSharp.Modules;
using static TorchSharp.torch;
using static TorchSharp.torch.nn;

namespace TorchDoctor.Corpus.Cases.Training;

/// <summary>An in-model standardisation layer divides by the batch std; one feature is constant, so 0/0 = NaN.</summary>
public sealed class StandardizeConstantFeature : CorpusCase
{
    public override CaseInfo Info => new()
    {
        Id = "standardize-constant-feature",
        Title = "Custom Standardize module computes (x - mean) / std per feature; a constant column (std 0) gives 0/0 = NaN",
        Source = "Stack Overflow 'NaN after normalisation: division by zero std'; UMLAUT: data normalisation bugs",
        Expected = new("TD2005", "standardize"),
        Fix = "(x - mean) / (std + 1e-6) (the finding's advice: guard the denominator)",
        Steps = 60,
    };

    private sealed class Standardize(bool eps) : Module<Tensor, Tensor>(nameof(Standardize))
    {
        public override Tensor forward(Tensor x)
        {
            var mean = x.mean([0], keepdim: true);
            var std = x.std(0, keepdim: true);
            return (x - mean) / (eps ? std + 1e-6 : std);
        }
    }

    private sealed class Net : Module<Tensor, Tensor>
    {
        private readonly Standardize standardize;
        private readonly Linear fc1 = Linear(10, 32), fc2 = Linear(32, 3);
        private readonly ReLU relu = ReLU();

        public Net(bool eps) : base(nameof(Net))
        {
            standardize = new Standardize(eps);
            RegisterComponents();
        }

        public override Tensor forward(Tensor x) => fc2.call(relu.call(fc1.call(standardize.call(x))));
    }

    public override IReadOnlyList<Finding> Run(CaseContext ctx)
    {
        using var data = CorpusData.Blobs(1024, 10, 3, ctx.Seed);
        using (no_grad()) data.X[TensorIndex.Colon, 3] = tensor(1.0f);   // a sensor column that never changes
        var model = new Net(eps: ctx.Fixed);
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
