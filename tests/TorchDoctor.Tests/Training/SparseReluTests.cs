using TorchDoctor.Findings;
using TorchDoctor.Training;
using TorchSharp;
using Xunit;
using static TorchSharp.torch;
using static TorchSharp.torch.nn;

namespace TorchDoctor.Tests.Training;

/// <summary>
/// Dead ReLU against a sparse layer, end to end through the probe: the probe keeps the union of the units that fired over a
/// run of mostly-zero sampled steps, and the detector names a layer only when its units are dead, not when they take turns.
/// </summary>
public class SparseReluTests
{
    /// <summary>
    /// A frozen layer whose unit i fires only for classes i, i−1, i−2 (mod 10): every sample leaves 70% of the outputs at zero,
    /// every batch of two classes leaves 60% of the units silent, and over a few batches every unit fires.
    /// </summary>
    private static (TorchSharp.Modules.Sequential Model, optim.Optimizer Optimizer) Net(double bias)
    {
        var model = Sequential(("fc", Linear(10, 10)), ("relu", ReLU()), ("head", Linear(10, 3)));
        using (no_grad())
        {
            var w = zeros(10, 10);
            for (int i = 0; i < 10; i++)
                for (int k = 0; k < 3; k++) w[i, (i - k + 10) % 10] = 1;
            var fc = (TorchSharp.Modules.Linear)model.named_children().First(c => c.name == "fc").module;
            fc.weight!.copy_(w);
            fc.bias!.fill_(bias);
            fc.weight.requires_grad = false;
            fc.bias.requires_grad = false;
        }
        var head = model.named_children().First(c => c.name == "head").module;
        return (model, optim.SGD(head.parameters(), 0.01));
    }

    private static (IReadOnlyList<Finding> Findings, List<double?> NeverFired, List<double?> ZeroFraction) Train(double bias, int steps = 60, bool evaluateBetweenSteps = false)
    {
        torch.manual_seed(0);
        var (model, opt) = Net(bias);
        using var _ = model;
        using var doctor = Doctor.Attach(model, opt);
        var never = new List<double?>();
        var zerosSeen = new List<double?>();
        for (int s = 0; s < steps; s++)
        {
            using var scope = NewDisposeScope();
            long[] classes = [(2 * s) % 10, (2 * s + 1) % 10];
            var x = nn.functional.one_hot(tensor(classes), 10).to(ScalarType.Float32);
            var y = tensor(classes.Select(c => c % 3).ToArray());
            MonitoredStep.Run(doctor, model, opt, x, y);
            if (evaluateBetweenSteps)
            {
                // Validation between steps, on inputs that make every unit fire: not part of training, not observed.
                model.eval();
                using (no_grad()) model.call(nn.functional.one_hot(arange(10), 10).to(ScalarType.Float32) * 10);
                model.train();
            }
            if (doctor.LastStep!.Activations.FirstOrDefault(a => a.Module == "relu") is { } r)
            {
                never.Add(r.NeverFiredFraction);
                zerosSeen.Add(r.ZeroFraction);
            }
        }
        return (doctor.Findings, never, zerosSeen);
    }

    [Fact]
    public void A_sparse_layer_whose_units_take_turns_is_not_dead()
    {
        var (findings, never, zerosSeen) = Train(bias: -0.5);
        Assert.All(zerosSeen, z => Assert.Equal(0.7, z!.Value, 9));
        Assert.Equal(0.6, never[0]!.Value, 9);          // the first batch alone: 6 of 10 units silent
        Assert.Equal(0.0, never[^1]!.Value, 9);         // the union over the run: every unit fired
        Assert.DoesNotContain(findings, f => f.Code == TrainingCodes.DeadRelu.Code);
    }

    [Fact]
    public void Forward_calls_between_steps_are_not_observed()
    {
        // The dead layer stays dead in the doctor's eyes although the evaluation between steps makes every unit fire.
        var (findings, never, _) = Train(bias: -2, evaluateBetweenSteps: true);
        Assert.All(never, n => Assert.Equal(1.0, n!.Value, 9));
        Assert.Contains(findings, f => f.Code == TrainingCodes.DeadRelu.Code);
    }

    [Fact]
    public void A_layer_whose_units_never_fire_is_dead()
    {
        var (findings, never, _) = Train(bias: -2);
        Assert.All(never, n => Assert.Equal(1.0, n!.Value, 9));
        var f = Assert.Single(findings, f => f.Code == TrainingCodes.DeadRelu.Code);
        Assert.Equal("relu", f.Module);
        Assert.Contains("100 % of its units fired for no sample in any batch of that run", f.Message);
    }
}
