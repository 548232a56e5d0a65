using TorchDoctor.Detectors;
using TorchDoctor.Findings;
using TorchDoctor.Observations;
using Xunit;
using static TorchDoctor.Tests.Detectors.Synthetic;

namespace TorchDoctor.Tests.Detectors;

/// <summary>Each rule just below and just above its threshold, from synthetic observation streams.</summary>
public class DetectorBoundaryTests
{
    private static readonly GradientFlowDetector Flow = new();

    [Fact]
    public void Vanishing_first_norm_boundary()
    {
        var hit = Run(Flow, GradientProfile(3, 0.99e-4, 0.1, 1.0));   // ratio 0.99e-4 < 1e-3, ‖g_first‖ < 1e-4
        Assert.Equal("l0", Assert.Single(hit, x => x.Code == "TD2001").Module);
        Assert.DoesNotContain(Run(Flow, GradientProfile(3, 1.01e-4, 0.1, 1.0)), x => x.Code == "TD2001");
    }

    [Fact]
    public void Vanishing_ratio_boundary()
    {
        Assert.Contains(Run(Flow, GradientProfile(3, 0.99e-5, 0.1, 0.01)), x => x.Code == "TD2001");   // ratio 0.99e-3
        Assert.DoesNotContain(Run(Flow, GradientProfile(3, 1.01e-5, 0.1, 0.01)), x => x.Code == "TD2001"); // ratio 1.01e-3
    }

    [Fact]
    public void Vanishing_deepdiagnosis_mean_abs_rule()
    {
        Assert.Contains(Run(Flow, GradientProfile(3, 0.5, 0.5, 0.5, meanAbs: 0.99e-7)), x => x.Code == "TD2001");
        Assert.DoesNotContain(Run(Flow, GradientProfile(3, 0.5, 0.5, 0.5, meanAbs: 1.01e-7)), x => x.Code == "TD2001");
    }

    [Fact]
    public void Vanishing_needs_persistence_and_names_the_collapse()
    {
        Assert.DoesNotContain(Run(Flow, GradientProfile(2, 1e-8, 0.1, 1)), x => x.Code == "TD2001");
        var f = Assert.Single(Run(Flow, GradientProfile(3, 1e-8, 0.1, 1)), x => x.Code == "TD2001");
        Assert.Contains("l1 → l0", f.Evidence["collapses between"]);
        Assert.Equal(20, f.Step);
    }

    [Fact]
    public void Zero_gradients_are_not_vanishing()
    {
        Assert.DoesNotContain(Run(Flow, GradientProfile(3, 0, 0.1, 1, meanAbs: 0)), x => x.Code == "TD2001");
    }

    [Fact]
    public void Exploding_ratio_boundary()
    {
        Assert.Contains(Run(Flow, GradientProfile(3, 71, 5, 1)), x => x.Code == "TD2002");
        Assert.DoesNotContain(Run(Flow, GradientProfile(3, 69, 5, 1)), x => x.Code == "TD2002");
    }

    [Fact]
    public void Exploding_loss_boundary()
    {
        Assert.Contains(Run(Flow, GradientProfile(1, 1, 1, 1, loss: 1000)), x => x.Code == "TD2002");
        Assert.DoesNotContain(Run(Flow, GradientProfile(1, 1, 1, 1, loss: 999.9)), x => x.Code == "TD2002");
    }

    [Fact]
    public void Exploding_global_norm_growth_boundary()
    {
        static IEnumerable<StepObservations> Stream(double jump) =>
            GradientProfile(5, 1, 1, 1).Concat(GradientProfile(1, jump, jump, jump).Select(s => new StepObservations
            {
                Step = 100, Sampled = true, Loss = 1, Parameters = s.Parameters, GlobalGradNorm = jump * Math.Sqrt(3),
            }));
        var hit = Assert.Single(Run(Flow, Stream(10.5)), x => x.Code == "TD2002");
        Assert.Contains("max_norm: 1.7", hit.Advice);   // near the calmest measured norm (√3)
        Assert.DoesNotContain(Run(Flow, Stream(9.5)), x => x.Code == "TD2002");
    }

    private static IEnumerable<StepObservations> Acts(int n, Func<long, ActivationObservation> make)
        => Enumerable.Range(0, n).Select(i => new StepObservations { Step = i * 10, Sampled = true, Activations = [make(i * 10)] });

    [Fact]
    public void Dead_relu_boundary()
    {
        var d = new ActivationDetector();
        var f = Assert.Single(Run(d, Acts(3, s => Act(s, "block.relu", "ReLU", 0, zeroFraction: 0.70))));
        Assert.Equal("TD2003", f.Code);
        Assert.Equal("block.relu", f.Module);
        Assert.Empty(Run(d, Acts(3, s => Act(s, "block.relu", "ReLU", 0, zeroFraction: 0.69))));
        Assert.Empty(Run(d, Acts(2, s => Act(s, "block.relu", "ReLU", 0, zeroFraction: 0.95))));
    }

    [Fact]
    public void Saturation_boundary()
    {
        var d = new ActivationDetector();
        Assert.Equal("TD2004", Assert.Single(Run(d, Acts(3, s => Act(s, "gate", "Sigmoid", 0, saturated: 0.51)))).Code);
        Assert.Empty(Run(d, Acts(3, s => Act(s, "gate", "Sigmoid", 0, saturated: 0.50))));
    }

    [Fact]
    public void Nonfinite_forward_origin_is_the_first_to_finish_with_finite_inputs()
    {
        var step = new StepObservations
        {
            Step = 7, Loss = double.NaN,
            Activations =
            [
                Act(7, "features.log", "LogFeatures", 2, nonFinite: 5) with { NegInf = 5, InputMin = 0, InputMax = 1.2, InputZeros = 5 },
                Act(7, "classifier", "Linear", 3, nonFinite: 40, inputNonFinite: 5) with { NaN = 40 },
                Act(7, "features", "Sequential", 4, nonFinite: 5) with { NegInf = 5 },   // the container finishes later
            ],
        };
        var f = Run(new NonFiniteDetector(), [step]);
        var origin = Assert.Single(f, x => x.Code == "TD2005");
        Assert.Equal("features.log", origin.Module);
        Assert.Contains("log of 0", origin.Message);
        Assert.Equal(7, origin.Step);
        Assert.Equal("features.log", Assert.Single(f, x => x.Code == "TD2007").Module);
    }

    [Fact]
    public void Poisoned_weights_are_not_an_origin()
    {
        var step = new StepObservations
        {
            Step = 9, Loss = double.NaN,
            Activations = [Act(9, "fc1", "Linear", 0, nonFinite: 10) with { NaN = 10, ParametersNonFinite = true }],
        };
        var f = Run(new NonFiniteDetector(), [step]);
        Assert.DoesNotContain(f, x => x.Code == "TD2005");
        Assert.Contains("already non-finite", Assert.Single(f, x => x.Code == "TD2007").Message);
    }

    [Fact]
    public void Nonfinite_input_data_is_named_as_such()
    {
        var step = new StepObservations { Step = 1, Loss = 1, Activations = [Act(1, "fc1", "Linear", 0, nonFinite: 3, inputNonFinite: 3)] };
        var f = Assert.Single(Run(new NonFiniteDetector(), [step]));
        Assert.Contains("data batch contains NaN/Inf", f.Message);
    }

    [Theory]
    [InlineData(0, 0, 5, 0.0, 1.0, 3L, "log of 0")]
    [InlineData(5, 0, 0, -1.0, 1.0, 0L, "negative")]
    [InlineData(0, 5, 0, 0.5, 100.0, 0L, "exp/pow")]
    [InlineData(0, 5, 0, 0.0, 1.0, 2L, "division by zero")]
    [InlineData(0, 3, 3, 0.0, 1e20, 0L, "overflow: its input")]
    public void Operation_guesses(long nan, long pos, long neg, double min, double max, long zeros, string expected)
    {
        var a = Act(0, "m", "Custom", 0, nonFinite: nan + pos + neg) with { NaN = nan, PosInf = pos, NegInf = neg, InputMin = min, InputMax = max, InputZeros = zeros };
        Assert.Contains(expected, NonFiniteDetector.GuessOperation(a));
    }

    [Fact]
    public void Nonfinite_backward_names_the_module_between_finite_and_nonfinite_gradients()
    {
        var step = new StepObservations
        {
            Step = 3, Sampled = true, Loss = 0.5,
            Activations = [Act(3, "fc", "Linear", 0), Act(3, "root", "Root", 1)],
            ActivationGradients = [new(3, "head", 0, 1.0, 0), new(3, "root", 1, 0.8, 0), new(3, "fc", 2, double.NaN, 4)],
            Parameters = [Weight(3, "fc", 0, double.NaN, gradNonFinite: 16)],
        };
        var f = Assert.Single(Run(new NonFiniteDetector(), [step]));
        Assert.Equal("TD2006", f.Code);
        Assert.Equal("root", f.Module);
        // No NaN anywhere: nothing.
        Assert.Empty(Run(new NonFiniteDetector(), [new StepObservations { Step = 4, Sampled = true, Loss = 0.5, ActivationGradients = [new(4, "fc", 0, 1, 0)] }]));
    }

    private static IEnumerable<StepObservations> Updates(int n, double ratio, long start = 100, bool grad = true, double gradNorm = 1)
        => Enumerable.Range(0, n).Select(i => new StepObservations
        {
            Step = start + i * 10, Sampled = true,
            Parameters = [Weight(start + i * 10, "fc", 0, gradNorm, hasGrad: grad)],
            Updates = [new UpdateObservation(start + i * 10, "fc.weight", "fc", 2, ratio * 2, 2, true, grad, gradNorm)],
        });

    [Fact]
    public void Update_ratio_boundaries()
    {
        var d = new ParameterDetector();
        Assert.Equal("TD2009", Assert.Single(Run(d, Updates(3, 0.051))).Code);
        Assert.Empty(Run(d, Updates(3, 0.049)));
        Assert.Equal("TD2010", Assert.Single(Run(d, Updates(3, 0.99e-5))).Code);
        Assert.Empty(Run(d, Updates(3, 1.01e-5)));
        // Warm-up: the first 100 steps are not judged.
        Assert.Empty(Run(d, Updates(3, 0.5, start: 0)));
    }

    [Fact]
    public void Frozen_parameter_needs_a_gradient_and_persistence()
    {
        var d = new ParameterDetector();
        var f = Assert.Single(Run(d, Updates(3, 0, start: 0)));
        Assert.Equal("TD2008", f.Code);
        Assert.Equal("fc", f.Module);
        Assert.Empty(Run(d, Updates(2, 0, start: 0)));
        Assert.Empty(Run(d, Updates(3, 0, start: 0, gradNorm: 0)));   // zero gradient: nothing to apply
    }

    [Fact]
    public void Unused_parameter_and_training_time_hook_bypass()
    {
        var d = new ParameterDetector();
        var unused = Enumerable.Range(0, 3).Select(i => new StepObservations
        {
            Step = i * 10, Sampled = true, ModulesThatRan = new HashSet<string> { "fc" },
            Parameters = [Weight(i * 10, "fc", 0, 1), Weight(i * 10, "spare", int.MaxValue, 0, hasGrad: false)],
        });
        var f = Assert.Single(Run(d, unused));
        Assert.Equal(("TD2011", "spare"), (f.Code, f.Module));

        var bypass = new StepObservations
        {
            Step = 0, Sampled = true, ModulesThatRan = new HashSet<string> { "", "block", "head" },
            Parameters = [Weight(0, "block.proj", int.MaxValue, 0.5), Weight(0, "head", 2, 0.5)],
        };
        var b = Assert.Single(Run(d, [bypass]));
        Assert.Equal(("TD1001", "block.proj"), (b.Code, b.Module));
        Assert.Contains("proj.call(x)", b.Advice);
    }

    [Fact]
    public void Window_is_bounded()
    {
        var w = new Window<int>(3);
        for (int i = 0; i < 1000; i++) w.Add(i);
        Assert.Equal(3, w.Count);
        Assert.Equal([997, 998, 999], w.Items());
        Assert.Equal([998, 999], w.Latest(2));
        var h = new TrainingHistory(5);
        foreach (var s in GradientProfile(100, 1, 1, 1)) h.Add(s);
        Assert.Equal(5, h.GradientProfiles.Count);
        Assert.Equal(5, h.Parameter("l0.weight")!.Count);
    }
}
