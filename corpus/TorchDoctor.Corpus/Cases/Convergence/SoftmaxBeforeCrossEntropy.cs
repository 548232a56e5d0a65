using TorchDoctor.Findings;
using TorchDoctor.Observations;
using TorchDoctor.Training;
using TorchSharp;
using TorchSharp.Modules;
using static TorchSharp.torch;
using static TorchSharp.torch.nn;

namespace TorchDoctor.Corpus.Cases.Convergence;

/// <summary>The model ends in Softmax and its output goes to cross_entropy, which applies log_softmax again.</summary>
public sealed class SoftmaxBeforeCrossEntropy : CorpusCase
{
    public override CaseInfo Info => new()
    {
        Id = "softmax-before-cross-entropy",
        Title = "Model ends in Softmax(1) and its probabilities go to cross_entropy (which expects logits): the loss floors near 1.46 for 10 classes",
        Source = "Stack Overflow 'should I use softmax before nn.CrossEntropyLoss' (one of the most asked); UMLAUT: wrong last-layer activation; issue 12 (loss calls)",
        Expected = new("TD2111", "softmax"),
        Capability = Capabilities.Convergence,
        Fix = "no Softmax in the model (cross_entropy takes logits)",
        Steps = 200,
    };

    private sealed class Net : Module<Tensor, Tensor>
    {
        private readonly Linear fc1 = Linear(20, 64), fc2 = Linear(64, 10);
        private readonly ReLU relu = ReLU();
        private readonly Module<Tensor, Tensor> softmax;

        public Net(bool withSoftmax) : base(nameof(Net))
        {
            softmax = withSoftmax ? Softmax(1) : Identity();
            RegisterComponents();
        }

        public override Tensor forward(Tensor x) => softmax.call(fc2.call(relu.call(fc1.call(x))));
    }

    public override IReadOnlyList<Finding> Run(CaseContext ctx)
    {
        using var data = CorpusData.Blobs(2048, 20, 10, ctx.Seed);
        var model = new Net(withSoftmax: !ctx.Fixed);
        var optimizer = optim.Adam(model.parameters(), 1e-3);
        using var doctor = Doctor.Attach(model, optimizer, ctx.Options);
        foreach (var (x, y) in data.Batches(64, ctx.Steps, ctx.Seed))
        {
            using var scope = NewDisposeScope();
            doctor.BeginStep();
            optimizer.zero_grad();
            var loss = doctor.Loss(model.call(x), y, LossKind.CrossEntropy);   // cross_entropy, checked
            loss.backward();
            doctor.AfterBackward(loss);
            optimizer.step();
            doctor.EndStep();
        }
        return doctor.Findings;
    }
}
