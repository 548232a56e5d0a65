using TorchDoctor.Findings;
using TorchDoctor.Training;
using TorchSharp;
using TorchSharp.Modules;
using static TorchSharp.torch;
using static TorchSharp.torch.nn;

namespace TorchDoctor.Corpus.Cases.Training;

/// <summary>A stray .detach() in forward (left from logging code) cuts the graph: the encoder never gets a gradient.</summary>
public sealed class DetachInForward : CorpusCase
{
    public override CaseInfo Info => new()
    {
        Id = "detach-in-forward",
        Title = "forward() detaches the encoder output (copied from a logging line): the encoder's parameters get no gradient",
        Source = "Stack Overflow 'parameters grad is None after detach'; PyTorch forum 'some layers not learning: detach() breaks the graph'",
        Expected = new("TD2011", "encoder"),
        Fix = "remove .detach() (the finding's advice: look for .detach())",
        Steps = 60,
    };

    private sealed class Net : Module<Tensor, Tensor>
    {
        private readonly Linear encoder = Linear(16, 32), decoder = Linear(32, 4);
        private readonly bool _detach;

        public Net(bool detach) : base(nameof(Net))
        {
            _detach = detach;
            RegisterComponents();
        }

        public override Tensor forward(Tensor x)
        {
            var h = functional.relu(encoder.call(x));
            if (_detach) h = h.detach();
            return decoder.call(h);
        }
    }

    public override IReadOnlyList<Finding> Run(CaseContext ctx)
    {
        using var data = CorpusData.Blobs(1024, 16, 4, ctx.Seed);
        var model = new Net(detach: !ctx.Fixed);
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
