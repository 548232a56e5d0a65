using TorchDoctor.Findings;
using TorchDoctor.Training;
using TorchSharp;
using TorchSharp.Modules;
using static TorchSharp.torch;
using static TorchSharp.torch.nn;

namespace TorchDoctor.Corpus.Cases.Clean;

/// <summary>MLP with Dropout, SGD + momentum and a StepLR scheduler stepped once per epoch.</summary>
public sealed class MlpSgdStepLr : CorpusCase
{
    public override CaseInfo Info => new()
    {
        Id = "clean-mlp-dropout-steplr",
        Kind = CaseKind.Clean,
        Title = "MLP with Dropout(0.2), SGD lr 0.05 momentum 0.9, StepLR(step_size 2 epochs, gamma 0.5) stepped per epoch",
        Source = "PyTorch ImageNet example's schedule (StepLR per epoch), on an MLP",
        Steps = 320,
    };

    private sealed class Net : Module<Tensor, Tensor>
    {
        private readonly Sequential layers = Sequential(Linear(20, 128), ReLU(), Dropout(0.2), Linear(128, 64), ReLU(), Dropout(0.2), Linear(64, 5));

        public Net() : base(nameof(Net)) => RegisterComponents();

        public override Tensor forward(Tensor x) => layers.call(x);
    }

    public override IReadOnlyList<Finding> Run(CaseContext ctx)
    {
        using var data = CorpusData.Blobs(2048, 20, 5, ctx.Seed);
        var model = new Net();
        var optimizer = optim.SGD(model.parameters(), 0.05, momentum: 0.9);
        var scheduler = optim.lr_scheduler.StepLR(optimizer, step_size: 2, gamma: 0.5);
        using var doctor = Doctor.Attach(model, optimizer, ctx.Options);
        int stepsPerEpoch = (int)(data.Count / 64), step = 0;
        foreach (var (x, y) in data.Batches(64, ctx.Steps, ctx.Seed))
        {
            using var scope = NewDisposeScope();
            doctor.BeginStep();
            optimizer.zero_grad();
            var loss = functional.cross_entropy(model.call(x), y);
            loss.backward();
            doctor.AfterBackward(loss);
            optimizer.step();
            doctor.EndStep();
            if (++step % stepsPerEpoch == 0) scheduler.step();
        }
        return doctor.Findings;
    }
}
