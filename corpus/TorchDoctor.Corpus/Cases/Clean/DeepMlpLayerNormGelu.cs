using TorchDoctor.Findings;
using TorchDoctor.Training;
using TorchSharp;
using TorchSharp.Modules;
using static TorchSharp.torch;
using static TorchSharp.torch.nn;

namespace TorchDoctor.Corpus.Cases.Clean;

/// <summary>A deeper MLP (6 blocks of Linear-LayerNorm-GELU) trained with Adam and warmup.</summary>
public sealed class DeepMlpLayerNormGelu : CorpusCase
{
    public override CaseInfo Info => new()
    {
        Id = "clean-deep-mlp-layernorm-gelu",
        Kind = CaseKind.Clean,
        Title = "Six Linear-LayerNorm-GELU blocks, 10 classes, Adam 1e-3 with linear warmup over 50 steps (LambdaLR)",
        Source = "transformer-style MLP blocks; warmup as in the guide's case study 3",
        Steps = 250,
    };

    public override IReadOnlyList<Finding> Run(CaseContext ctx)
    {
        using var data = CorpusData.Blobs(2048, 32, 10, ctx.Seed);
        var blocks = new List<(string, Module<Tensor, Tensor>)>();
        long inF = 32;
        for (int i = 0; i < 6; i++)
        {
            blocks.Add(($"fc{i}", Linear(inF, 96)));
            blocks.Add(($"ln{i}", LayerNorm(96)));
            blocks.Add(($"act{i}", GELU()));
            inF = 96;
        }
        blocks.Add(("head", Linear(inF, 10)));
        var model = Sequential(blocks);
        var optimizer = optim.Adam(model.parameters(), 1e-3);
        var warmup = optim.lr_scheduler.LambdaLR(optimizer, s => Math.Min(1.0, (s + 1) / 50.0));
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
            warmup.step();
        }
        return doctor.Findings;
    }
}
