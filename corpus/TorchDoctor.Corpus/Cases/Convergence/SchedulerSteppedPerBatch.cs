using TorchDoctor.Findings;
using TorchDoctor.Training;
using TorchSharp;
using TorchSharp.Modules;
using static TorchSharp.torch;
using static TorchSharp.torch.nn;

namespace TorchDoctor.Corpus.Cases.Convergence;

/// <summary>StepLR meant per epoch is stepped per batch: the learning rate decays to almost nothing within an epoch or two.</summary>
public sealed class SchedulerSteppedPerBatch : CorpusCase
{
    public override CaseInfo Info => new()
    {
        Id = "scheduler-stepped-per-batch",
        Title = "StepLR(step_size 10, gamma 0.5) written for epochs but stepped every batch: lr 0.05 → 5e-11 by step 300",
        Source = "PyTorch forum 'scheduler.step() inside the batch loop'; AutoTrainer: slow convergence; issue 12 ('a learning rate decayed to almost nothing by a scheduler stepped too often')",
        Expected = new("TD2109", null),
        Capability = Capabilities.Convergence,
        Fix = "scheduler.step() once per epoch",
        Steps = 300,
    };

    private sealed class Net : Module<Tensor, Tensor>
    {
        private readonly Linear fc1 = Linear(20, 64), fc2 = Linear(64, 5);
        private readonly ReLU relu = ReLU();

        public Net() : base(nameof(Net)) => RegisterComponents();

        public override Tensor forward(Tensor x) => fc2.call(relu.call(fc1.call(x)));
    }

    public override IReadOnlyList<Finding> Run(CaseContext ctx)
    {
        using var data = CorpusData.Blobs(2048, 20, 5, ctx.Seed);
        var model = new Net();
        var optimizer = optim.SGD(model.parameters(), 0.05, momentum: 0.9);
        var scheduler = optim.lr_scheduler.StepLR(optimizer, step_size: 10, gamma: 0.5);
        using var doctor = Doctor.Attach(model, optimizer, ctx.Options);
        int step = 0, stepsPerEpoch = (int)(data.Count / 64);
        double epochLoss = 0;
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
            epochLoss += loss.item<float>();
            step++;
            if (!ctx.Fixed || step % stepsPerEpoch == 0) scheduler.step();
            if (step % stepsPerEpoch == 0) { doctor.EndEpoch(epochLoss / stepsPerEpoch); epochLoss = 0; }
        }
        return doctor.Findings;
    }
}
