using TorchDoctor.Findings;
using TorchDoctor.Training;
using TorchSharp;
using TorchSharp.Modules;
using static TorchSharp.torch;
using static TorchSharp.torch.nn;

namespace TorchDoctor.Corpus.Cases.Clean;

/// <summary>A VGG-style CNN with BatchNorm and Dropout, Adam, on grayscale images; uses Sequential end to end.</summary>
public sealed class VggStyleCnn : CorpusCase
{
    public override CaseInfo Info => new()
    {
        Id = "clean-vgg-style-bn-dropout",
        Kind = CaseKind.Clean,
        Title = "VGG-style Sequential CNN (Conv-BN-ReLU ×2, MaxPool, Dropout, Linear), Adam 1e-3, 1-channel images",
        Source = "Fashion-MNIST tutorial CNNs (Conv-BN-ReLU-Pool)",
        Steps = 150,
    };

    public override IReadOnlyList<Finding> Run(CaseContext ctx)
    {
        using var data = CorpusData.Images(1024, 1, 16, 8, ctx.Seed);
        var model = Sequential(
            ("conv1", Conv2d(1, 16, 3, padding: 1)), ("bn1", BatchNorm2d(16)), ("relu1", ReLU()),
            ("conv2", Conv2d(16, 16, 3, padding: 1)), ("bn2", BatchNorm2d(16)), ("relu2", ReLU()),
            ("pool", MaxPool2d(2)), ("flatten", Flatten()), ("drop", Dropout(0.3)),
            ("fc", Linear(16 * 8 * 8, 8)));
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
