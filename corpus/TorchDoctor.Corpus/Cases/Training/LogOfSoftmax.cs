using TorchDoctor.Findings;
using TorchDoctor.Training;
using TorchSharp;
using TorchSharp.Modules;
using static TorchSharp.torch;
using static TorchSharp.torch.nn;

namespace TorchDoctor.Corpus.Cases.Training;

/// <summary>log(softmax(x)) written out by hand: softmax underflows to 0 for confident logits, log(0) = -inf.</summary>
public sealed class LogOfSoftmax : CorpusCase
{
    public override CaseInfo Info => new()
    {
        Id = "log-of-softmax",
        Title = "Output layer computes softmax(x).log() by hand (then nll_loss); logits of scale ~100 underflow softmax to 0: -inf",
        Source = "Stack Overflow 'NaN loss with log(softmax)'; PyTorch docs recommend log_softmax for numerical stability; DeepDiagnosis: numerical errors",
        Expected = new("TD2005", "log_probs"),
        Fix = "functional.log_softmax(x, 1) (the finding's advice: use log_softmax instead of log(softmax(x)))",
        Steps = 60,
    };

    private sealed class LogProbs(bool stable) : Module<Tensor, Tensor>(nameof(LogProbs))
    {
        public override Tensor forward(Tensor x) => stable ? functional.log_softmax(x, 1) : functional.softmax(x, 1).log();
    }

    private sealed class Classifier : Module<Tensor, Tensor>
    {
        private readonly Linear fc1 = Linear(20, 64), fc2 = Linear(64, 6);
        private readonly ReLU relu = ReLU();
        private readonly LogProbs log_probs;

        public Classifier(bool stable) : base(nameof(Classifier))
        {
            log_probs = new LogProbs(stable);
            RegisterComponents();
        }

        // The logits are scaled by a "temperature" of 0.02 (×50), as in a contrastive recipe.
        public override Tensor forward(Tensor x) => log_probs.call(fc2.call(relu.call(fc1.call(x))) * 50);
    }

    public override IReadOnlyList<Finding> Run(CaseContext ctx)
    {
        using var data = CorpusData.Blobs(1024, 20, 6, ctx.Seed, spread: 3);
        var model = new Classifier(stable: ctx.Fixed);
        var optimizer = optim.Adam(model.parameters(), 1e-3);
        using var doctor = Doctor.Attach(model, optimizer, ctx.Options);
        foreach (var (x, y) in data.Batches(32, ctx.Steps, ctx.Seed))
        {
            using var scope = NewDisposeScope();
            doctor.BeginStep();
            optimizer.zero_grad();
            var loss = functional.nll_loss(model.call(x), y);
            loss.backward();
            doctor.AfterBackward(loss);
            optimizer.step();
            doctor.EndStep();
        }
        return doctor.Findings;
    }
}
