using TorchDoctor.Findings;
using TorchDoctor.Training;
using TorchSharp;
using TorchSharp.Modules;
using static TorchSharp.torch;
using static TorchSharp.torch.nn;

namespace TorchDoctor.Corpus.Cases.Probes;

/// <summary>Issue 11: a 12-layer sigmoid MLP trained for one 32-step epoch at the README's default options.</summary>
public sealed class FirstEpochDeepSigmoid : CorpusCase
{
    public override CaseInfo Info => new()
    {
        Id = "first-epoch-deep-sigmoid",
        Title = "12-layer sigmoid MLP, one epoch of 32 steps, Doctor.Attach with default options (SampleInterval 100): vanishing gradients must show in the first epoch",
        Source = "AutoTrainer: vanishing gradient; issue 11 (short runs see almost nothing at default options)",
        Expected = new("TD2001", "layers.0"),
        Capability = Capabilities.Probes,
        Attach = AttachMode.Defaults,
        Fix = "ReLU with init.kaiming_normal_",
        Steps = 32,
    };

    private sealed class DeepNet : Module<Tensor, Tensor>
    {
        private readonly Sequential layers;

        public DeepNet(bool relu) : base(nameof(DeepNet))
        {
            var list = new List<Module<Tensor, Tensor>>();
            long inF = 32;
            for (int i = 0; i < 12; i++)
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
        using var data = CorpusData.Blobs(1024, 32, 4, ctx.Seed);
        var model = new DeepNet(relu: ctx.Fixed);
        var optimizer = optim.SGD(model.parameters(), 0.1);
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
