using TorchDoctor.Findings;
using TorchDoctor.Training;
using TorchSharp;
using TorchSharp.Modules;
using static TorchSharp.torch;
using static TorchSharp.torch.nn;

namespace TorchDoctor.Corpus.Cases.Training;

/// <summary>A "log features" layer after ReLU: log(0) = -inf as soon as a unit outputs exactly 0.</summary>
public sealed class LogOfReluFeatures : CorpusCase
{
    public override CaseInfo Info => new()
    {
        Id = "log-of-relu-features",
        Title = "Custom LogScale module computes x.log() on ReLU outputs, which are exactly 0 for inactive units: -inf, then NaN",
        Source = "PyTorch forum 'loss is nan: log of zero'; Stack Overflow 'torch.log returns -inf'; DeepDiagnosis: numerical errors",
        Expected = new("TD2005", "encoder.log"),
        Fix = "x.clamp_min(1e-6).log() (the finding's advice: keep the argument positive)",
        Steps = 60,
    };

    private sealed class LogScale(bool clamp) : Module<Tensor, Tensor>(nameof(LogScale))
    {
        public override Tensor forward(Tensor x) => clamp ? x.clamp_min(1e-6).log() : x.log();
    }

    private sealed class Net : Module<Tensor, Tensor>
    {
        private readonly Sequential encoder;
        private readonly Linear head = Linear(32, 3);

        public Net(bool clamp) : base(nameof(Net))
        {
            encoder = Sequential(("fc", Linear(12, 32)), ("relu", ReLU()), ("log", new LogScale(clamp)));
            RegisterComponents();
        }

        public override Tensor forward(Tensor x) => head.call(encoder.call(x));
    }

    public override IReadOnlyList<Finding> Run(CaseContext ctx)
    {
        using var data = CorpusData.Blobs(1024, 12, 3, ctx.Seed);
        var model = new Net(clamp: ctx.Fixed);
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
