using TorchDoctor.Findings;
using TorchDoctor.Training;
using TorchSharp;
using TorchSharp.Modules;
using static TorchSharp.torch;
using static TorchSharp.torch.nn;

namespace TorchDoctor.Corpus.Cases.Training;

/// <summary>The model's own forward (not a child module) takes log of a ReLU output: the NaN origin is the root module.</summary>
public sealed class RootForwardLog : CorpusCase
{
    public override CaseInfo Info => new()
    {
        Id = "root-forward-log",
        Title = "The model's forward computes log(relu(fc1(x))) inline: the -inf is made by the root module's own code, not by a child",
        Source = "issue 9/10: NaN made by the root module printed with a blank module name ('at  step 0'); PyTorch forum 'log gives -inf'",
        Expected = new("TD2005", Expectation.Root),
        Fix = "log1p instead of log (the finding's advice: keep the argument positive)",
        Steps = 60,
    };

    private sealed class Net : Module<Tensor, Tensor>
    {
        private readonly Linear fc1 = Linear(12, 32), fc2 = Linear(32, 3);
        private readonly bool _log1p;

        public Net(bool log1p) : base(nameof(Net))
        {
            _log1p = log1p;
            RegisterComponents();
        }

        public override Tensor forward(Tensor x)
        {
            var h = functional.relu(fc1.call(x));
            return fc2.call(_log1p ? h.log1p() : h.log());
        }
    }

    public override IReadOnlyList<Finding> Run(CaseContext ctx)
    {
        using var data = CorpusData.Blobs(1024, 12, 3, ctx.Seed);
        var model = new Net(log1p: ctx.Fixed);
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
