using TorchDoctor.Findings;
using TorchDoctor.Training;
using TorchSharp;
using TorchSharp.Modules;
using static TorchSharp.torch;
using static TorchSharp.torch.nn;

namespace TorchDoctor.Corpus.Cases.Convergence;

/// <summary>A wide MLP trained for many epochs on 64 noisy samples without regularisation: validation loss rises.</summary>
public sealed class OverfittingSmallData : CorpusCase
{
    public override CaseInfo Info => new()
    {
        Id = "overfitting-small-data",
        Title = "Wide MLP, 64 noisy training samples, 300 steps, no weight decay or early stopping: train loss → 0 while validation loss climbs",
        Source = "the guide's case study 1 (overfitting); AutoTrainer/DeepDiagnosis symptom lists; issue 12 (overfitting: report the best epoch)",
        Expected = new("overfitting", Expectation.Root),
        Capability = Capabilities.Convergence,
        Fix = "weight decay 1e-2 + dropout, and 512 training samples",
        Steps = 300,
    };

    private sealed class Net : Module<Tensor, Tensor>
    {
        private readonly Sequential layers;

        public Net(double dropout) : base(nameof(Net))
        {
            layers = Sequential(Linear(20, 256), ReLU(), Dropout(dropout), Linear(256, 256), ReLU(), Dropout(dropout), Linear(256, 5));
            RegisterComponents();
        }

        public override Tensor forward(Tensor x) => layers.call(x);
    }

    public override IReadOnlyList<Finding> Run(CaseContext ctx)
    {
        using var data = CorpusData.Blobs(ctx.Fixed ? 512 : 64, 20, 5, ctx.Seed, spread: 0.6);
        using var val = CorpusData.Blobs(256, 20, 5, ctx.Seed + 100, spread: 0.6);
        var model = new Net(ctx.Fixed ? 0.3 : 0.0);
        var optimizer = optim.AdamW(model.parameters(), 1e-3, weight_decay: ctx.Fixed ? 1e-2 : 0);
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
