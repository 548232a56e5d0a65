using TorchDoctor.Findings;
using TorchDoctor.Training;
using TorchSharp;
using TorchSharp.Modules;
using static TorchSharp.torch;
using static TorchSharp.torch.nn;

namespace TorchDoctor.Corpus.Cases.Training;

/// <summary>The optimizer is built from the head's parameters only, although the whole network is meant to train.</summary>
public sealed class OptimizerGetsHeadOnly : CorpusCase
{
    public override CaseInfo Info => new()
    {
        Id = "optimizer-gets-head-only",
        Title = "optim.SGD(model.classifier.parameters(), ...) copied from a fine-tuning recipe, though the features are not pretrained: they never train",
        Source = "PyTorch forum 'only part of the model is learning: optimizer given the wrong parameters'; TorchSharp#1481 'parameters not updated after step()'",
        Expected = new("TD2012", "features.0"),
        Fix = "optim.SGD(model.parameters(), ...) (the finding's advice)",
        Steps = 60,
    };

    private sealed class Net : Module<Tensor, Tensor>
    {
        public readonly Sequential features = Sequential(Linear(16, 64), ReLU());
        public readonly Linear classifier = Linear(64, 4);

        public Net() : base(nameof(Net)) => RegisterComponents();

        public override Tensor forward(Tensor x) => classifier.call(features.call(x));
    }

    public override IReadOnlyList<Finding> Run(CaseContext ctx)
    {
        using var data = CorpusData.Blobs(1024, 16, 4, ctx.Seed);
        var model = new Net();
        var optimizer = optim.SGD(ctx.Fixed ? model.parameters() : model.classifier.parameters(), 0.05, momentum: 0.9);
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
