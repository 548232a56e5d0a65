using TorchDoctor.Findings;
using TorchDoctor.Training;
using TorchSharp;
using TorchSharp.Modules;
using static TorchSharp.torch;
using static TorchSharp.torch.nn;

namespace TorchDoctor.Corpus.Cases.Clean;

/// <summary>Token embedding + one self-attention layer (scaled dot product, written out) + LayerNorm + mean pooling.</summary>
public sealed class EmbeddingAttention : CorpusCase
{
    public override CaseInfo Info => new()
    {
        Id = "clean-embedding-attention",
        Kind = CaseKind.Clean,
        Title = "Embedding + single-head self-attention (q/k/v Linear, softmax(qk^T/sqrt(d))), residual + LayerNorm, mean pool, AdamW 1e-3",
        Source = "'Attention is all you need' encoder layer, minimal; nanoGPT-style block",
        Steps = 200,
    };

    private sealed class SelfAttention : Module<Tensor, Tensor>
    {
        private readonly Linear q, k, v, o;
        private readonly double _scale;

        public SelfAttention(long d) : base(nameof(SelfAttention))
        {
            q = Linear(d, d); k = Linear(d, d); v = Linear(d, d); o = Linear(d, d);
            _scale = 1.0 / Math.Sqrt(d);
            RegisterComponents();
        }

        public override Tensor forward(Tensor x)
        {
            var scores = bmm(q.call(x), k.call(x).transpose(1, 2)) * _scale;
            return o.call(bmm(functional.softmax(scores, -1), v.call(x)));
        }
    }

    private sealed class Encoder : Module<Tensor, Tensor>
    {
        private readonly Embedding embed = Embedding(60, 32);
        private readonly SelfAttention attn = new(32);
        private readonly LayerNorm norm = LayerNorm(32);
        private readonly Linear head = Linear(32, 4);

        public Encoder() : base(nameof(Encoder)) => RegisterComponents();

        public override Tensor forward(Tensor tokens)
        {
            var h = embed.call(tokens);
            h = norm.call(h + attn.call(h));
            return head.call(h.mean([1]));
        }
    }

    public override IReadOnlyList<Finding> Run(CaseContext ctx)
    {
        using var data = CorpusData.Tokens(1024, 12, 60, 4, ctx.Seed);
        var model = new Encoder();
        var optimizer = optim.AdamW(model.parameters(), 1e-3);
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
