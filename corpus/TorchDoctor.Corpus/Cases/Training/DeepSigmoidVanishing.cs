using TorchDoctor.Findings;
using TorchDoctor.Training;
using TorchSharp;
using TorchSharp.Modules;
using static TorchSharp.torch;
using static TorchSharp.torch.nn;

namespace TorchDoctor.Corpus.Cases.Training;

/// <summary>Ten Linear+Sigmoid layers trained with SGD: the first layers' gradients vanish.</summary>
public sealed class DeepSigmoidVanishing : CorpusCase
{
    public override CaseInfo Info => new()
    {
        Id = "deep-sigmoid-vanishing",
        Title = "Ten-layer MLP with Sigmoid after every Linear (a textbook recipe), SGD 0.1: the first layer stops learning",
        Source = "AutoTrainer (Zhang et al. 2021): vanishing gradient; DeepDiagnosis: vanishing gradient; Stack Overflow 'deep sigmoid network does not learn'",
        Expected = new("TD2001", "layers.0"),
        Fix = "ReLU instead of Sigmoid with init.kaiming_normal_ (the finding's advice)",
        Steps = 200,
    };

    private sealed class DeepNet : Module<Tensor, Tensor>
    {
        private readonly Sequential layers;

        public DeepNet(bool relu) : base(nameof(DeepNet))
        {
            var list = new List<Module<Tensor, Tensor>>();
            long inF = 32;
            for (int i = 0; i < 10; i++)
            {
                var fc = Linear(inF, 64);
                if (relu) { init.kaiming_normal_(fc.weight, nonlinearity: init.NonlinearityType.ReLU); init.zeros_(fc.bias!); }
                list.Add(fc);
                list.Add(relu ? ReLU() : Sigmoid());
                inF = 64;
            }
            list.Add(Linear(inF, 4));
            layers = Sequential(list);
            RegisterComponents();
        }

        public override Tensor forward(Tensor x) => layers.call(x);
    }

    public override IReadOnlyList<Finding> Run(CaseContext ctx)
    {
        using var data = CorpusData.Blobs(2048, 32, 4, ctx.Seed);
        var model = new DeepNet(relu: ctx.Fixed);
        var optimizer = optim.SGD(model.parameters(), 0.1);
        using var doctor = Doctor.Attach(model, optimizer, ctx.Options);
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
        }
        return doctor.Findings;
    }
}
