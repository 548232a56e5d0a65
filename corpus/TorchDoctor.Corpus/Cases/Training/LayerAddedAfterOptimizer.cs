using TorchDoctor.Findings;
using TorchDoctor.Training;
using TorchSharp;
using TorchSharp.Modules;
using static TorchSharp.torch;
using static TorchSharp.torch.nn;

namespace TorchDoctor.Corpus.Cases.Training;

/// <summary>A classifier head is added (register_module) after the optimizer was created from model.parameters().</summary>
public sealed class LayerAddedAfterOptimizer : CorpusCase
{
    public override CaseInfo Info => new()
    {
        Id = "layer-added-after-optimizer",
        Title = "Backbone built, trainable parameters collected into a list for the optimizer, then a new head registered: the head never trains",
        Source = "ocaml-torch#36 'optimizer created before the layer'; PyTorch forum 'new layer weights not updating'; issue 9 trial (not-in-optimizer)",
        Expected = new("TD2012", "head"),
        Fix = "create the optimizer after the model is complete (the finding's advice)",
        Steps = 60,
    };

    private sealed class Net : Module<Tensor, Tensor>
    {
        private readonly Sequential backbone = Sequential(Linear(16, 64), ReLU(), Linear(64, 32), ReLU());
        private Module<Tensor, Tensor>? _head;

        public Net() : base(nameof(Net)) => RegisterComponents();

        public void SetHead(int classes)
        {
            _head = Linear(32, classes);
            register_module("head", _head);
        }

        public override Tensor forward(Tensor x) => _head!.call(backbone.call(x));
    }

    public override IReadOnlyList<Finding> Run(CaseContext ctx)
    {
        using var data = CorpusData.Blobs(1024, 16, 4, ctx.Seed);
        var model = new Net();
        optim.Optimizer optimizer;
        // The trainable parameters are collected once (a materialised list, as when filtering requires_grad);
        // the bug is collecting them before the head exists.
        if (ctx.Fixed) { model.SetHead(4); optimizer = optim.Adam(model.parameters().Where(p => p.requires_grad).ToList(), 1e-3); }
        else { optimizer = optim.Adam(model.parameters().Where(p => p.requires_grad).ToList(), 1e-3); model.SetHead(4); }
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
