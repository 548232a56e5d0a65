using TorchDoctor.Findings;
using TorchDoctor.Training;
using TorchSharp;
using TorchSharp.Modules;
using static TorchSharp.torch;
using static TorchSharp.torch.nn;

namespace TorchDoctor.Corpus.Cases.Clean;

/// <summary>GRU classifier with gradient clipping (as RNN recipes do), RMSprop.</summary>
public sealed class GruClassifierClipped : CorpusCase
{
    public override CaseInfo Info => new()
    {
        Id = "clean-gru-clipped-rmsprop",
        Kind = CaseKind.Clean,
        Title = "Embedding + GRU(16, 32), mean over time, clip_grad_norm_(1.0), RMSprop 1e-3",
        Source = "PyTorch word-language-model example (clipping), GRU variant",
        Steps = 200,
    };

    private sealed class GruNet : Module<Tensor, Tensor>
    {
        private readonly Embedding embed = Embedding(40, 16);
        private readonly GRU gru = GRU(16, 32, batchFirst: true);
        private readonly Linear head = Linear(32, 3);

        public GruNet() : base(nameof(GruNet)) => RegisterComponents();

        public override Tensor forward(Tensor tokens)
        {
            var (output, _) = gru.call(embed.call(tokens));
            return head.call(output.mean([1]));
        }
    }

    public override IReadOnlyList<Finding> Run(CaseContext ctx)
    {
        using var data = CorpusData.Tokens(1024, 10, 40, 3, ctx.Seed);
        var model = new GruNet();
        var optimizer = optim.RMSProp(model.parameters(), 1e-3);
        using var doctor = Doctor.Attach(model, optimizer, ctx.Options);
        foreach (var (x, y) in data.Batches(32, ctx.Steps, ctx.Seed))
        {
            using var scope = NewDisposeScope();
            doctor.BeginStep();
            optimizer.zero_grad();
            var loss = functional.cross_entropy(model.call(x), y);
            loss.backward();
            doctor.AfterBackward(loss);
            nn.utils.clip_grad_norm_(model.parameters(), 1.0);
            optimizer.step();
            doctor.EndStep();
        }
        return doctor.Findings;
    }
}
