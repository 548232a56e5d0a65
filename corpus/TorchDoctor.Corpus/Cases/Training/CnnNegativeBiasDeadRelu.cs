using TorchDoctor.Findings;
using TorchDoctor.Training;
using TorchSharp;
using TorchSharp.Modules;
using static TorchSharp.torch;
using static TorchSharp.torch.nn;

namespace TorchDoctor.Corpus.Cases.Training;

/// <summary>A CNN whose second conv starts with bias -2 (a "sparse activations" trick gone wrong): its ReLU never fires.</summary>
public sealed class CnnNegativeBiasDeadRelu : CorpusCase
{
    public override CaseInfo Info => new()
    {
        Id = "cnn-negative-bias-dead-relu",
        Title = "CNN whose conv2 bias is initialised to -2: most of relu2's units never fire",
        Source = "DeepDiagnosis: dying ReLU; Stack Overflow 'dying ReLU problem, all outputs zero'; CS231n notes on dead ReLUs",
        Expected = new("TD2003", "relu2"),
        Fix = "zero biases (the finding's advice: initialise with kaiming_normal_ and zero biases)",
        Steps = 150,
    };

    private sealed class Cnn : Module<Tensor, Tensor>
    {
        private readonly Conv2d conv1 = Conv2d(1, 8, 3, padding: 1), conv2 = Conv2d(8, 16, 3, padding: 1);
        private readonly ReLU relu1 = ReLU(), relu2 = ReLU();
        private readonly MaxPool2d pool = MaxPool2d(2);
        private readonly Linear fc = Linear(16 * 4 * 4, 5);

        public Cnn(bool negativeBias) : base(nameof(Cnn))
        {
            using (no_grad())
            {
                init.kaiming_normal_(conv2.weight, nonlinearity: init.NonlinearityType.ReLU);
                if (negativeBias) init.constant_(conv2.bias!, -2.0); else init.zeros_(conv2.bias!);
            }
            RegisterComponents();
        }

        public override Tensor forward(Tensor x)
        {
            x = pool.call(relu1.call(conv1.call(x)));
            x = pool.call(relu2.call(conv2.call(x)));
            return fc.call(x.flatten(1));
        }
    }

    public override IReadOnlyList<Finding> Run(CaseContext ctx)
    {
        using var data = CorpusData.Images(1024, 1, 16, 5, ctx.Seed);
        var model = new Cnn(negativeBias: !ctx.Fixed);
        var optimizer = optim.SGD(model.parameters(), 0.05, momentum: 0.9);
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
