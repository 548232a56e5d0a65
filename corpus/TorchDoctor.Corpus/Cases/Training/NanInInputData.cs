using TorchDoctor.Findings;
using TorchDoctor.Training;
using TorchSharp;
using TorchSharp.Modules;
using static TorchSharp.torch;
using static TorchSharp.torch.nn;

namespace TorchDoctor.Corpus.Cases.Training;

/// <summary>Missing values read as NaN and never imputed: the first layer receives NaN.</summary>
public sealed class NanInInputData : CorpusCase
{
    public override CaseInfo Info => new()
    {
        Id = "nan-in-input-data",
        Title = "CSV with empty cells parsed as NaN and fed as is: the loss is NaN from the first batch that holds one",
        Source = "Kaggle/Stack Overflow 'loss is nan from the first epoch: NaN in the dataset'; UMLAUT: data contains NaN",
        Expected = new("TD2005", "fc1"),
        Fix = "impute the missing values (column means) before training, as the finding advises",
        Steps = 60,
        Attach = AttachMode.AllProbes,   // README: ProbeKinds.All when hunting a NaN from the first step
    };

    private sealed class Net : Module<Tensor, Tensor>
    {
        private readonly Linear fc1 = Linear(10, 32), fc2 = Linear(32, 3);
        private readonly ReLU relu = ReLU();

        public Net() : base(nameof(Net)) => RegisterComponents();

        public override Tensor forward(Tensor x) => fc2.call(relu.call(fc1.call(x)));
    }

    public override IReadOnlyList<Finding> Run(CaseContext ctx)
    {
        using var data = CorpusData.Blobs(1024, 10, 3, ctx.Seed);
        using (no_grad())
        {
            using var missing = rand(data.X.shape, generator: new Generator((ulong)ctx.Seed)).lt(0.002);
            data.X.masked_fill_(missing, float.NaN);
            if (ctx.Fixed)
            {
                using var isNan = data.X.isnan();
                using var filled = data.X.nan_to_num(0.0);
                using var counts = isNan.logical_not().sum(0, keepdim: true);
                using var means = filled.sum(0, keepdim: true) / counts;
                data.X.copy_(where(isNan, means.expand_as(data.X), data.X));
            }
        }
        var model = new Net();
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
