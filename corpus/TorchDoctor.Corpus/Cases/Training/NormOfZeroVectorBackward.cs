using TorchDoctor.Findings;
using TorchDoctor.Training;
using TorchSharp;
using TorchSharp.Modules;
using static TorchSharp.torch;
using static TorchSharp.torch.nn;

namespace TorchDoctor.Corpus.Cases.Training;

/// <summary>A feature "vector length" sqrt(sum x²) of rows that are exactly zero: finite forward, NaN gradient (d sqrt/dx at 0).</summary>
public sealed class NormOfZeroVectorBackward : CorpusCase
{
    public override CaseInfo Info => new()
    {
        Id = "norm-of-zero-vector-backward",
        Title = "Custom Length module adds sqrt(sum(x^2)) of ReLU features; rows that are all zero give a finite forward but NaN gradients",
        Source = "PyTorch forum / GitHub pytorch#2421 'gradient of norm at zero is nan'; DeepDiagnosis: numerical errors in backward",
        Expected = new("TD2006", "length"),
        Fix = "(x.pow(2).sum(1) + 1e-12).sqrt() (the finding's advice: add an epsilon)",
        Steps = 60,
        Attach = AttachMode.AllProbes,
    };

    private sealed class Length(bool eps) : Module<Tensor, Tensor>(nameof(Length))
    {
        public override Tensor forward(Tensor x) => (eps ? x.pow(2).sum(1, keepdim: true) + 1e-12 : x.pow(2).sum(1, keepdim: true)).sqrt();
    }

    private sealed class Net : Module<Tensor, Tensor>
    {
        private readonly Linear fc1 = Linear(8, 16), head = Linear(17, 3);
        private readonly ReLU relu = ReLU();
        private readonly Length length;

        public Net(bool eps) : base(nameof(Net))
        {
            length = new Length(eps);
            using (no_grad()) init.constant_(fc1.bias!, -4.0);   // sparse features: many rows all zero
            RegisterComponents();
        }

        public override Tensor forward(Tensor x)
        {
            var h = relu.call(fc1.call(x));
            return head.call(cat([h, length.call(h)], 1));
        }
    }

    public override IReadOnlyList<Finding> Run(CaseContext ctx)
    {
        using var data = CorpusData.Blobs(1024, 8, 3, ctx.Seed);
        var model = new Net(eps: ctx.Fixed);
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
