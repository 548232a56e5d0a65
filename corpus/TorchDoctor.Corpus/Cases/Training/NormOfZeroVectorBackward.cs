using TorchDoctor.Findings;
using TorchDoctor.Training;
using TorchSharp;
using TorchSharp.Modules;
using static TorchSharp.torch;
using static TorchSharp.torch.nn;

namespace TorchDoctor.Corpus.Cases.Training;

/// <summary>A Siamese distance sqrt(sum (a-b)²) over pairs that include identical inputs: finite forward, NaN gradient (d sqrt/dx at 0).</summary>
public sealed class NormOfZeroVectorBackward : CorpusCase
{
    public override CaseInfo Info => new()
    {
        Id = "norm-of-zero-vector-backward",
        Title = "Siamese network: Distance module computes sqrt(sum((a - b)^2)); pairs of identical inputs give distance 0 and a NaN gradient",
        Source = "PyTorch forum 'NaN gradient in Siamese network / pairwise distance at zero' (pytorch#2421, norm gradient at 0); DeepDiagnosis: numerical errors in backward",
        Expected = new("TD2006", "distance"),
        Fix = "(sum + 1e-12).sqrt() (the finding's advice: add an epsilon)",
        Steps = 60,
        Attach = AttachMode.AllProbes,
    };

    private sealed class Distance(bool eps) : Module<Tensor, Tensor, Tensor>(nameof(Distance))
    {
        public override Tensor forward(Tensor a, Tensor b)
        {
            var sq = (a - b).pow(2).sum(1, keepdim: true);
            return (eps ? sq + 1e-12 : sq).sqrt();
        }
    }

    private sealed class Siamese : Module<Tensor, Tensor, Tensor>
    {
        private readonly Sequential encoder = Sequential(Linear(8, 32), ReLU(), Linear(32, 16));
        private readonly Distance distance;

        public Siamese(bool eps) : base(nameof(Siamese))
        {
            distance = new Distance(eps);
            RegisterComponents();
        }

        public override Tensor forward(Tensor a, Tensor b) => distance.call(encoder.call(a), encoder.call(b));
    }

    public override IReadOnlyList<Finding> Run(CaseContext ctx)
    {
        using var data = CorpusData.Blobs(1024, 8, 4, ctx.Seed);
        var model = new Siamese(eps: ctx.Fixed);
        var optimizer = optim.Adam(model.parameters(), 1e-3);
        using var doctor = Doctor.Attach(model, optimizer, ctx.Options);
        using var gen = new Generator((ulong)ctx.Seed);
        foreach (var (x, y) in data.Batches(32, ctx.Steps, ctx.Seed))
        {
            using var scope = NewDisposeScope();
            // Pairs: each sample against a shuffled partner; a quarter of the pairs are the sample itself (positives).
            var perm = randperm(32, generator: gen);
            var self = rand([32], generator: gen).lt(0.25);
            var partner = where(self.unsqueeze(1), x, x.index_select(0, perm));
            var same = where(self, ones(32), y.eq(y.index_select(0, perm)).to_type(ScalarType.Float32)).unsqueeze(1);
            doctor.BeginStep();
            optimizer.zero_grad();
            var d = model.call(x, partner);
            // Contrastive loss (Hadsell et al. 2006), margin 2.
            var loss = (same * d.pow(2) + (1 - same) * functional.relu(2 - d).pow(2)).mean();
            loss.backward();
            doctor.AfterBackward(loss);
            optimizer.step();
            doctor.EndStep();
        }
        return doctor.Findings;
    }
}
