using TorchDoctor.Findings;
using TorchDoctor.Training;
using TorchSharp;
using TorchSharp.Modules;
using static TorchSharp.torch;
using static TorchSharp.torch.nn;

namespace TorchDoctor.Corpus.Cases.Training;

/// <summary>Raw 0-255 pixel values into a sigmoid MLP: the hidden sigmoid is pinned at 0 or 1.</summary>
public sealed class RawPixelsSigmoidSaturated : CorpusCase
{
    public override CaseInfo Info => new()
    {
        Id = "raw-pixels-sigmoid-saturated",
        Title = "Images fed as raw 0-255 values (no ToTensor/Normalize) into a Linear+Sigmoid hidden layer: the sigmoid saturates",
        Source = "UMLAUT: missing input normalisation; DeepDiagnosis: saturated activation; PyTorch forum 'forgot to divide by 255'",
        Expected = new("TD2004", "hidden_act"),
        Fix = "scale the images to [0, 1] (x / 255), the finding's 'scale the input data'",
        Steps = 150,
    };

    private sealed class Net : Module<Tensor, Tensor>
    {
        private readonly Flatten flatten = Flatten();
        private readonly Linear hidden = Linear(256, 64), head = Linear(64, 5);
        private readonly Sigmoid hidden_act = Sigmoid();

        public Net() : base(nameof(Net)) => RegisterComponents();

        public override Tensor forward(Tensor x) => head.call(hidden_act.call(hidden.call(flatten.call(x))));
    }

    public override IReadOnlyList<Finding> Run(CaseContext ctx)
    {
        using var data = CorpusData.Images(1024, 1, 16, 5, ctx.Seed);
        using var pixels = (data.X * 255).round();          // what a uint8 image reader gives
        var model = new Net();
        var optimizer = optim.SGD(model.parameters(), 0.01);
        using var doctor = Doctor.Attach(model, optimizer, ctx.Options);
        using var gen = new Generator((ulong)ctx.Seed);
        for (int step = 0; step < ctx.Steps; step++)
        {
            using var scope = NewDisposeScope();
            var idx = randint(data.Count, [32], generator: gen);
            var x = pixels.index_select(0, idx);
            if (ctx.Fixed) x = x / 255;
            var y = data.Y.index_select(0, idx);
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
