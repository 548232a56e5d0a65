using TorchDoctor.Findings;
using TorchDoctor.Training;
using TorchSharp;
using TorchSharp.Modules;
using static TorchSharp.torch;
using static TorchSharp.torch.nn;

namespace TorchDoctor.Corpus.Cases.Clean;

/// <summary>Embedding + LSTM sequence classifier with Adam.</summary>
public sealed class LstmClassifier : CorpusCase
{
    public override CaseInfo Info => new()
    {
        Id = "clean-lstm-classifier",
        Kind = CaseKind.Clean,
        Title = "Embedding(50, 16) + LSTM(16, 32) over 12 tokens, last hidden state into a Linear, Adam 3e-3",
        Source = "PyTorch sequence-classification tutorial shape",
        Steps = 200,
    };

    private sealed class SeqNet : Module<Tensor, Tensor>
    {
        private readonly Embedding embed = Embedding(50, 16);
        private readonly LSTM lstm = LSTM(16, 32, batchFirst: true);
        private readonly Linear head = Linear(32, 4);

        public SeqNet() : base(nameof(SeqNet)) => RegisterComponents();

        public override Tensor forward(Tensor tokens)
        {
            var (output, _, _) = lstm.call(embed.call(tokens));
            return head.call(output.select(1, -1));
        }
    }

    public override IReadOnlyList<Finding> Run(CaseContext ctx)
    {
        using var data = CorpusData.Tokens(1024, 12, 50, 4, ctx.Seed);
        var model = new SeqNet();
        var optimizer = optim.Adam(model.parameters(), 3e-3);
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
