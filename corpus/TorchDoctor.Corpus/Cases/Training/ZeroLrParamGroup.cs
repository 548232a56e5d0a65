using TorchDoctor.Findings;
using TorchDoctor.Training;
using TorchSharp;
using TorchSharp.Modules;
using static TorchSharp.torch;
using static TorchSharp.torch.nn;

namespace TorchDoctor.Corpus.Cases.Training;

/// <summary>Discriminative learning rates with the backbone's lr left at 0 (meant 1e-4): the backbone never changes.</summary>
public sealed class ZeroLrParamGroup : CorpusCase
{
    public override CaseInfo Info => new()
    {
        Id = "zero-lr-param-group",
        Title = "Two param groups (backbone, head) where the backbone's lr is 0 (a config value that parsed as 0): the backbone is silently frozen",
        Source = "PyTorch forum 'weights not updating with param groups'; fastai discriminative LR questions; UMLAUT: learning rate too low",
        Expected = new("TD2008", "backbone.0"),
        Fix = "lr 1e-3 for the backbone group (the finding's advice: check its learning rate is not 0)",
        Steps = 60,
    };

    private sealed class Net : Module<Tensor, Tensor>
    {
        public readonly Sequential backbone = Sequential(Linear(16, 64), ReLU());
        public readonly Linear head = Linear(64, 4);

        public Net() : base(nameof(Net)) => RegisterComponents();

        public override Tensor forward(Tensor x) => head.call(backbone.call(x));
    }

    public override IReadOnlyList<Finding> Run(CaseContext ctx)
    {
        using var data = CorpusData.Blobs(1024, 16, 4, ctx.Seed);
        var model = new Net();
        double backboneLr = ctx.Fixed ? 1e-3 : 0.0;
        var optimizer = optim.Adam(new[]
        {
            new Adam.ParamGroup(model.backbone.parameters(), new Adam.Options { LearningRate = backboneLr }),
            new Adam.ParamGroup(model.head.parameters(), new Adam.Options { LearningRate = 1e-3 }),
        }, 1e-3);
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
