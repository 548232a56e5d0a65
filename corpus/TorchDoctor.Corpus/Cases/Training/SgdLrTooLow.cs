using TorchDoctor.Findings;
using TorchDoctor.Training;
using TorchSharp;
using TorchSharp.Modules;
using static TorchSharp.torch;
using static TorchSharp.torch.nn;

namespace TorchDoctor.Corpus.Cases.Training;

/// <summary>SGD at lr 1e-5 (a value meant for Adam fine-tuning): the weights barely move.</summary>
public sealed class SgdLrTooLow : CorpusCase
{
    public override CaseInfo Info => new()
    {
        Id = "sgd-lr-too-low",
        Title = "Plain SGD with lr=1e-5 on an MLP: every step changes the weights by ~1e-7 of their norm; the loss barely moves",
        Source = "UMLAUT: learning rate too low; AutoTrainer: slow convergence; Stack Overflow 'loss not decreasing'",
        Expected = new("TD2010", Expectation.Root),
        Fix = "SGD lr 0.05 (the finding's advice: raise the learning rate)",
        Steps = 300,
    };

    private sealed class Net : Module<Tensor, Tensor>
    {
        private readonly Sequential layers = Sequential(Linear(20, 64), ReLU(), Linear(64, 64), ReLU(), Linear(64, 5));

        public Net() : base(nameof(Net)) => RegisterComponents();

        public override Tensor forward(Tensor x) => layers.call(x);
    }

    public override IReadOnlyList<Finding> Run(CaseContext ctx)
    {
        using var data = CorpusData.Blobs(2048, 20, 5, ctx.Seed);
        var model = new Net();
        var optimizer = optim.SGD(model.parameters(), ctx.Fixed ? 0.05 : 1e-5);
        using var doctor = Doctor.Attach(model, optimizer, ctx.Options);
        foreach (var (x, y) in data.Batches(64, ctx.Steps, ctx.Seed))
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
