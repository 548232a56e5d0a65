using TorchDoctor.Findings;
using TorchDoctor.Training;
using TorchSharp;
using TorchSharp.Modules;
using static TorchSharp.torch;
using static TorchSharp.torch.nn;

namespace TorchDoctor.Corpus.Cases.Training;

/// <summary>Softmax written as exp(x) / sum(exp(x)): exp overflows to inf for logits above ~88, inf/inf = NaN.</summary>
public sealed class NaiveSoftmaxOverflow : CorpusCase
{
    public override CaseInfo Info => new()
    {
        Id = "naive-softmax-overflow",
        Title = "Attention-style scores normalised by a hand-written exp(x) / exp(x).sum(): large scores overflow exp to inf, inf/inf = NaN",
        Source = "Stack Overflow 'softmax returns nan for large inputs'; CS231n 'numeric stability' (subtract the max); DeepDiagnosis: numerical errors",
        Expected = new("TD2005", "attend"),
        Fix = "functional.softmax (subtracts the max: the finding's advice to use numerically stable forms)",
        Steps = 60,
    };

    private sealed class Attend(bool stable) : Module<Tensor, Tensor>(nameof(Attend))
    {
        public override Tensor forward(Tensor scores)
        {
            if (stable) return functional.softmax(scores, 1);
            var e = scores.exp();
            return e / e.sum(1, keepdim: true);
        }
    }

    private sealed class Net : Module<Tensor, Tensor>
    {
        private readonly Linear score = Linear(16, 16), head = Linear(16, 4);
        private readonly Attend attend;

        public Net(bool stable) : base(nameof(Net))
        {
            attend = new Attend(stable);
            RegisterComponents();
        }

        public override Tensor forward(Tensor x)
        {
            var weights = attend.call(score.call(x) * 40);      // unscaled dot-product scores
            return head.call(weights * x);
        }
    }

    public override IReadOnlyList<Finding> Run(CaseContext ctx)
    {
        using var data = CorpusData.Blobs(1024, 16, 4, ctx.Seed, spread: 3);
        var model = new Net(stable: ctx.Fixed);
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
