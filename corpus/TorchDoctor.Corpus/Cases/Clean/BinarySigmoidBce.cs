using TorchDoctor.Findings;
using TorchDoctor.Training;
using TorchSharp;
using TorchSharp.Modules;
using static TorchSharp.torch;
using static TorchSharp.torch.nn;

namespace TorchDoctor.Corpus.Cases.Clean;

/// <summary>Issue 9's trial program: a binary classifier ending in Sigmoid, trained with binary_cross_entropy. Correct code.</summary>
public sealed class BinarySigmoidBce : CorpusCase
{
    public override CaseInfo Info => new()
    {
        Id = "clean-binary-sigmoid-bce",
        Kind = CaseKind.Clean,
        Title = "Binary classifier: MLP + output Sigmoid + binary_cross_entropy with float 0/1 labels, Adam 1e-2 (a confident output sigmoid saturates by design)",
        Source = "issue 9 trial: saturated-activation on the output sigmoid and exploding-gradients from a jump at tiny norms were false alarms",
        Steps = 400,
    };

    private sealed class BinaryNet : Module<Tensor, Tensor>
    {
        private readonly Linear fc1 = Linear(10, 32), fc2 = Linear(32, 1);
        private readonly ReLU relu = ReLU();
        private readonly Sigmoid sigmoid = Sigmoid();

        public BinaryNet() : base(nameof(BinaryNet)) => RegisterComponents();

        public override Tensor forward(Tensor x) => sigmoid.call(fc2.call(relu.call(fc1.call(x))));
    }

    public override IReadOnlyList<Finding> Run(CaseContext ctx)
    {
        using var data = CorpusData.Binary(2048, 10, ctx.Seed);
        var model = new BinaryNet();
        var optimizer = optim.Adam(model.parameters(), 1e-2);
        using var doctor = Doctor.Attach(model, optimizer, ctx.Options);
        foreach (var (x, y) in data.Batches(64, ctx.Steps, ctx.Seed))
        {
            using var scope = NewDisposeScope();
            doctor.BeginStep();
            optimizer.zero_grad();
            var loss = functional.binary_cross_entropy(model.call(x), y);
            loss.backward();
            doctor.AfterBackward(loss);
            optimizer.step();
            doctor.EndStep();
        }
        return doctor.Findings;
    }
}
