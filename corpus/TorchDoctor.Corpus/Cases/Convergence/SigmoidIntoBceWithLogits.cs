using TorchDoctor.Findings;
using TorchDoctor.Observations;
using TorchDoctor.Training;
using TorchSharp;
using TorchSharp.Modules;
using static TorchSharp.torch;
using static TorchSharp.torch.nn;

namespace TorchDoctor.Corpus.Cases.Convergence;

/// <summary>The model ends in Sigmoid and its output goes to binary_cross_entropy_with_logits (a second sigmoid).</summary>
public sealed class SigmoidIntoBceWithLogits : CorpusCase
{
    public override CaseInfo Info => new()
    {
        Id = "sigmoid-into-bce-with-logits",
        Title = "Binary model ends in Sigmoid and its probabilities go to binary_cross_entropy_with_logits: sigmoid applied twice, gradients shrink",
        Source = "PyTorch forum 'BCEWithLogitsLoss with sigmoid output'; Stack Overflow 'model outputs stuck at 0.73'; issue 12 (loss calls)",
        Expected = new("TD2111", "sigmoid"),
        Capability = Capabilities.Convergence,
        Fix = "no Sigmoid in the model (the loss applies it)",
        Steps = 200,
    };

    private sealed class Net : Module<Tensor, Tensor>
    {
        private readonly Linear fc1 = Linear(10, 32), fc2 = Linear(32, 1);
        private readonly ReLU relu = ReLU();
        private readonly Module<Tensor, Tensor> sigmoid;

        public Net(bool withSigmoid) : base(nameof(Net))
        {
            sigmoid = withSigmoid ? Sigmoid() : Identity();
            RegisterComponents();
        }

        public override Tensor forward(Tensor x) => sigmoid.call(fc2.call(relu.call(fc1.call(x))));
    }

    public override IReadOnlyList<Finding> Run(CaseContext ctx)
    {
        using var data = CorpusData.Binary(2048, 10, ctx.Seed);
        var model = new Net(withSigmoid: !ctx.Fixed);
        var optimizer = optim.Adam(model.parameters(), 1e-3);
        using var doctor = Doctor.Attach(model, optimizer, ctx.Options);
        foreach (var (x, y) in data.Batches(64, ctx.Steps, ctx.Seed))
        {
            using var scope = NewDisposeScope();
            doctor.BeginStep();
            optimizer.zero_grad();
            var loss = doctor.Loss(model.call(x), y, LossKind.BinaryCrossEntropyWithLogits);   // binary_cross_entropy_with_logits, checked
            loss.backward();
            doctor.AfterBackward(loss);
            optimizer.step();
            doctor.EndStep();
        }
        return doctor.Findings;
    }
}
