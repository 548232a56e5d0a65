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
        Expected = new("TD2101", null),
        Capability = Capabilities.Convergence,
        Fix = "weight decay 1e-2 + dropout 0.5, and 1,024 training samples (the finding's regularisation and more-data advice)",
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
        using var all = CorpusData.Blobs(1280, 20, 5, ctx.Seed, spread: 0.6);
        using var val = all.Slice(1024, 256);                            // held-out validation samples
        using var data = all.Slice(0, ctx.Fixed ? 1024 : 64);
        var model = new Net(ctx.Fixed ? 0.5 : 0.0);
        var optimizer = optim.AdamW(model.parameters(), 1e-3, weight_decay: ctx.Fixed ? 1e-2 : 0);
        using var doctor = Doctor.Attach(model, optimizer, ctx.Options);
        int step = 0, stepsPerEpoch = (int)(data.Count / 32);
        double epochLoss = 0;
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
            epochLoss += loss.item<float>();
            if (++step % stepsPerEpoch == 0)   // end of an epoch: validate and tell the doctor
            {
                model.eval();
                float valLoss;
                using (no_grad()) valLoss = functional.cross_entropy(model.call(val.X), val.Y).item<float>();
                model.train();
                doctor.EndEpoch(epochLoss / stepsPerEpoch, valLoss);
                epochLoss = 0;
            }
        }
        return doctor.Findings;
    }
}
