using TorchDoctor.Findings;
using TorchDoctor.Training;
using TorchSharp;
using TorchSharp.Modules;
using static TorchSharp.torch;
using static TorchSharp.torch.nn;

namespace TorchDoctor.Corpus.Cases.Training;

/// <summary>A deep ReLU MLP whose weights are drawn from N(0, 1): activations and gradients grow layer after layer.</summary>
public sealed class LargeInitExploding : CorpusCase
{
    public override CaseInfo Info => new()
    {
        Id = "large-init-exploding",
        Title = "Deep ReLU MLP initialised with init.normal_(w, 0, 1) (std 1 instead of sqrt(2/fan_in)), SGD 0.01: gradients explode",
        Source = "AutoTrainer: exploding gradient; DeepDiagnosis: 'wrong weight initialisation'; PyTorch forum 'loss explodes to inf with normal init'",
        Expected = new("TD2002", Expectation.Root),   // the loss rule measures the model: exploding-gradients names (root), the largest layer is evidence
        Fix = "init.kaiming_normal_ (the finding's advice: initialise with kaiming_normal_ instead of large weights)",
        Steps = 150,
    };

    private sealed class Mlp : Module<Tensor, Tensor>
    {
        private readonly Linear fc1 = Linear(32, 128), fc2 = Linear(128, 128), fc3 = Linear(128, 128), fc4 = Linear(128, 128), head = Linear(128, 4);

        public Mlp(bool kaiming) : base(nameof(Mlp))
        {
            using (no_grad())
                foreach (var l in new[] { fc1, fc2, fc3, fc4 })
                {
                    if (kaiming) init.kaiming_normal_(l.weight, nonlinearity: init.NonlinearityType.ReLU);
                    else init.normal_(l.weight, 0, 1);
                    init.zeros_(l.bias!);
                }
            RegisterComponents();
        }

        public override Tensor forward(Tensor x)
        {
            x = functional.relu(fc1.call(x));
            x = functional.relu(fc2.call(x));
            x = functional.relu(fc3.call(x));
            x = functional.relu(fc4.call(x));
            return head.call(x);
        }
    }

    public override IReadOnlyList<Finding> Run(CaseContext ctx)
    {
        using var data = CorpusData.Blobs(2048, 32, 4, ctx.Seed);
        var model = new Mlp(kaiming: ctx.Fixed);
        var optimizer = optim.SGD(model.parameters(), 0.01);
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
