using TorchDoctor.Findings;
using TorchDoctor.Training;
using TorchSharp;
using TorchSharp.Modules;
using static TorchSharp.torch;
using static TorchSharp.torch.nn;

namespace TorchDoctor.Corpus.Cases.Convergence;

/// <summary>[batch, time, features] reshaped with view(time, batch, features) instead of permute: samples are mixed across the batch.</summary>
public sealed class ViewMixesBatch : CorpusCase
{
    public override CaseInfo Info => new()
    {
        Id = "view-mixes-batch",
        Title = "Sequence batch [B, T, F] turned into [T, B, F] with view() instead of transpose(): samples mixed, labels no longer match",
        Source = "Stack Overflow 'view vs permute: my LSTM does not learn'; PyTorch forum 'reshape mixes batch'; issue 12 (a view/permute that mixes samples)",
        Expected = new("TD2118", "head"),
        Capability = Capabilities.Convergence,
        Fix = "x.transpose(0, 1)",
        Steps = 200,
    };

    private sealed class TimeMlp : Module<Tensor, Tensor>
    {
        private readonly Linear step = Linear(8, 32), head = Linear(32, 4);
        private readonly bool _view;

        public TimeMlp(bool view) : base(nameof(TimeMlp))
        {
            _view = view;
            RegisterComponents();
        }

        public override Tensor forward(Tensor x)   // x: [B, T, F]
        {
            long b = x.shape[0], t = x.shape[1], f = x.shape[2];
            var timeMajor = _view ? x.view(t, b, f) : x.transpose(0, 1);
            var h = functional.relu(step.call(timeMajor)).mean([0]);   // [B, 32]
            return head.call(h);
        }
    }

    public override IReadOnlyList<Finding> Run(CaseContext ctx)
    {
        using var flat = CorpusData.Blobs(2048, 48, 4, ctx.Seed);
        using var seq = flat.X.view(-1, 6, 8);
        var model = new TimeMlp(view: !ctx.Fixed);
        var optimizer = optim.Adam(model.parameters(), 1e-3);
        using var doctor = Doctor.Attach(model, optimizer, ctx.Options);
        foreach (var (x, y) in flat.Batches(64, ctx.Steps, ctx.Seed))
        {
            using var scope = NewDisposeScope();
            var xs = x.view(-1, 6, 8);
            doctor.BeginStep();
            optimizer.zero_grad();
            var loss = functional.cross_entropy(model.call(xs), y);
            loss.backward();
            doctor.AfterBackward(loss);
            optimizer.step();
            doctor.EndStep();
        }
        return doctor.Findings;
    }
}
