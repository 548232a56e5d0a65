using TorchDoctor.Findings;
using TorchDoctor.Training;
using TorchSharp;
using TorchSharp.Modules;
using static TorchSharp.torch;
using static TorchSharp.torch.nn;

namespace TorchDoctor.Corpus.Cases.Training;

/// <summary>Tanh hidden layer with N(0, 1) weights over 100 inputs: pre-activations have std ~10, tanh is flat.</summary>
public sealed class TanhLargeInitSaturated : CorpusCase
{
    public override CaseInfo Info => new()
    {
        Id = "tanh-large-init-saturated",
        Title = "Tanh layer over 100 features initialised with init.normal_(w, 0, 1): pre-activations of std ~10 saturate tanh",
        Source = "DeepDiagnosis: saturated activation; Glorot & Bengio 2010 (why Xavier init); Stack Overflow 'tanh outputs all 1 or -1'",
        Expected = new("TD2004", "tanh"),
        Fix = "init.xavier_uniform_ (the finding's advice: smaller initial weights)",
        Steps = 150,
    };

    private sealed class Net : Module<Tensor, Tensor>
    {
        private readonly Linear fc = Linear(100, 64), head = Linear(64, 4);
        private readonly Tanh tanh = Tanh();

        public Net(bool xavier) : base(nameof(Net))
        {
            using (no_grad())
            {
                if (xavier) init.xavier_uniform_(fc.weight); else init.normal_(fc.weight, 0, 1);
                init.zeros_(fc.bias!);
            }
            RegisterComponents();
        }

        public override Tensor forward(Tensor x) => head.call(tanh.call(fc.call(x)));
    }

    public override IReadOnlyList<Finding> Run(CaseContext ctx)
    {
        using var data = CorpusData.Blobs(1024, 100, 4, ctx.Seed, spread: 0.5);
        var model = new Net(xavier: ctx.Fixed);
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
