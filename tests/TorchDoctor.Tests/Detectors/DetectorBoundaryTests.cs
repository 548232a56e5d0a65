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
        // The first layer's mean |dW| is tiny and its gradient is below a tenth of the last layer's.
        Assert.Contains(Run(Flow, GradientProfile(3, 0.05, 0.5, 0.51, meanAbs: 0.99e-7)), x => x.Code == "TD2001");
        Assert.DoesNotContain(Run(Flow, GradientProfile(3, 0.05, 0.5, 0.51, meanAbs: 1.01e-7)), x => x.Code == "TD2001");
        // Tiny everywhere (a converged, confident model): not vanishing.
        Assert.DoesNotContain(Run(Flow, GradientProfile(3, 0.5, 0.5, 0.5, meanAbs: 0.99e-7)), x => x.Code == "TD2001");
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
        // The jump must last Persistence (3) sampled steps, each above 10× the median of the norms before them.
        static IEnumerable<StepObservations> Stream(double jump, int jumps = 3) =>
            GradientProfile(5, 1, 1, 1).Concat(Enumerable.Range(0, jumps).Select(i => new StepObservations
            {
                Step = 100 + i * 10, Sampled = true, Loss = 1,
                Parameters = [Weight(100 + i * 10, "l0", 0, jump), Weight(100 + i * 10, "l1", 1, jump), Weight(100 + i * 10, "l2", 2, jump)],
                GlobalGradNorm = jump * Math.Sqrt(3),
            }));
        var hit = Assert.Single(Run(Flow, Stream(10.5)), x => x.Code == "TD2002");
        Assert.Equal(ModuleNames.Root, hit.Module);   // the global norm is the model's: the largest layer is evidence
        Assert.Contains("max_norm: 1.7", hit.Advice);   // near the calmest measured norm (√3)
        Assert.DoesNotContain(Run(Flow, Stream(9.5)), x => x.Code == "TD2002");
        Assert.DoesNotContain(Run(Flow, Stream(10.5, jumps: 2)), x => x.Code == "TD2002");
        // At tiny norms (a converged model) a lasting 10× jump stays below the absolute floor of 1.
        Assert.DoesNotContain(Run(Flow, Stream(10.5).Select(s => new StepObservations
        {
            Step = s.Step, Sampled = true, Loss = s.Loss, Parameters = s.Parameters, GlobalGradNorm = s.GlobalGradNorm / 100,
        })), x => x.Code == "TD2002");
    }

    [Fact]
    public void A_lasting_norm_jump_is_an_explosion_only_while_the_loss_is_not_improving()
    {
        // Measured on the lr-too-high demo's fixed run (Adam 1e-3): norms 0.28 at the start, 3–9 at step 76, loss falling.
        static IEnumerable<StepObservations> Stream(double lossAfter) =>
            Enumerable.Range(0, 9).Select(i => new StepObservations
            {
                Step = i, Sampled = true, Loss = 2.0,
                Parameters = [Weight(i, "l0", 0, 1), Weight(i, "l1", 1, 1), Weight(i, "l2", 2, 1)], GlobalGradNorm = Math.Sqrt(3),
            }).Concat(Enumerable.Range(9, 3).Select(i => new StepObservations
            {
                Step = i, Sampled = true, Loss = lossAfter,
                Parameters = [Weight(i, "l0", 0, 20), Weight(i, "l1", 1, 20), Weight(i, "l2", 2, 20)], GlobalGradNorm = 20 * Math.Sqrt(3),
            }));
        // Last 5 losses: (2 × 2.0 + 3 × L) / 5 against the best earlier 5-step mean 2.0, limit 1.25 × 2.0 = 2.5.
        Assert.Contains(Run(Flow, Stream(3.0)), x => x.Code == "TD2002");        // 2.6 ≥ 2.5: rising with the norms
        Assert.DoesNotContain(Run(Flow, Stream(2.8)), x => x.Code == "TD2002");  // 2.48 < 2.5
        Assert.DoesNotContain(Run(Flow, Stream(0.5)), x => x.Code == "TD2002");  // falling: a healthy run leaving its flat start
    }

    [Fact]
    public void A_single_jump_at_tiny_norms_is_not_an_explosion()
    {
        // Issue 9's trial: a confident binary classifier, global norm 0.41 against a median of 0.037, once.
        var calm = Enumerable.Range(0, 10).Select(i => new StepObservations
        {
            Step = i * 10, Sampled = true, Loss = 0.05,
            Parameters = [Weight(i * 10, "fc1", 0, 0.03), Weight(i * 10, "fc2", 1, 0.02)], GlobalGradNorm = 0.037,
        });
        var jump = new StepObservations
        {
            Step = 100, Sampled = true, Loss = 0.3,
            Parameters = [Weight(100, "fc1", 0, 0.3), Weight(100, "fc2", 1, 0.28)], GlobalGradNorm = 0.41,
        };
        Assert.Empty(Run(Flow, calm.Append(jump)));
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

    private static IEnumerable<StepObservations> ActsAt(IEnumerable<long> steps, Func<long, double> zeroFraction)
        => steps.Select(s => new StepObservations { Step = s, Sampled = true, Activations = [Act(s, "relu1", "ReLU", 0, zeroFraction: zeroFraction(s))] });

    [Fact]
    public void Dead_relu_needs_a_span_of_training_steps()
    {
        var d = new ActivationDetector();
        // Three samples at 95% covering 20 training steps (0, 9, 19): dead. Covering 19 (0, 9, 18): not yet.
        var f = Assert.Single(Run(d, ActsAt([0, 9, 19], _ => 0.95)));
        Assert.Equal(19, f.Step);
        Assert.Equal("0–19 (3 sampled; ≥ 20 steps needed)", f.Evidence["steps"]);
        Assert.Empty(Run(d, ActsAt([0, 9, 18], _ => 0.95)));
        // The dense start: every step sampled, a layer pushed past 70% from step 10 to step 25 that recovers (the corpus
        // CNN's transient) is not dead; the same layer staying off is named once the run covers 20 steps (step 29).
        Assert.Empty(Run(d, ActsAt(Enumerable.Range(0, 40).Select(i => (long)i), s => s is >= 10 and <= 25 ? 0.8 : 0.55)));
        var stays = Run(d, ActsAt(Enumerable.Range(0, 40).Select(i => (long)i), s => s >= 10 ? 0.8 : 0.55));
        Assert.Equal(29, stays[0].Step);
        Assert.All(stays, x => Assert.Equal("relu1", x.Module));
        // One sample below the threshold breaks the run: it starts again after it.
        Assert.Empty(Run(d, ActsAt([0, 10, 15, 20, 30], s => s == 15 ? 0.6 : 0.9)));
    }

    private static bool NotImproving(params double[] losses)
    {
        var h = new TrainingHistory();
        for (int i = 0; i < losses.Length; i++) h.Add(new StepObservations { Step = i, Loss = losses[i] });
        return GradientFlowDetector.LossNotImproving(h, new DetectorThresholds());
    }

    [Fact]
    public void Loss_not_improving_compares_the_last_5_step_mean_with_the_best_earlier_one()
    {
        double[] Run(double recent) => [2, 2, 2, 2, 2, 1, 1, 1, 1, 1, 3, .. Enumerable.Repeat(recent, 5)];
        Assert.True(NotImproving(Run(1.25)));    // 1.25 × the best earlier 5-step mean (1.0)
        Assert.False(NotImproving(Run(1.24)));
        Assert.True(NotImproving(1, 1, 1, 1, 1, 1, 1, 1, 1));   // fewer than 10 losses: not known to improve
        // The recent window never counts as "earlier": ten equal losses are not improving (1.0 ≥ 1.25 × 1.0 is false).
        Assert.False(NotImproving(Enumerable.Repeat(1.0, 10).ToArray()));
        // Windows that overlap the recent one are not earlier: here the only earlier window is the first (mean 3), the recent
        // mean is 2 (improving); counting the overlapping window (3, 1, 1, 1, 1) = 1.4 would call 2 ≥ 1.25 × 1.4 a rise.
        Assert.False(NotImproving(3, 3, 3, 3, 3, 1, 1, 1, 1, 6));
    }

    private static IEnumerable<StepObservations> Sparse(double zeroFraction, double neverFired)
        => new long[] { 0, 10, 20 }.Select(s => new StepObservations
        {
            Step = s, Sampled = true,
            Activations = [Act(s, "relu1", "ReLU", 0, zeroFraction: zeroFraction) with { NeverFiredFraction = neverFired }],
        });

    [Fact]
    public void Dead_relu_needs_dead_units_not_a_sparse_layer()
    {
        var d = new ActivationDetector();
        // The memory-leak demo's fc1 ReLU: 72% zeros over 20 steps, but its units take turns (5% fired in no batch): sparse, alive.
        Assert.Empty(Run(d, Sparse(0.72, 0.05)));
        // 70% of the units fired for no sample in any batch of the run: dead (the unit boundary is DeepDiagnosis's 70%).
        var f = Assert.Single(Run(d, Sparse(0.72, 0.70)));
        Assert.Contains("70 % of its units fired for no sample in any batch of that run (at least 70 % needed): they are dead.", f.Message);
        Assert.Equal("70.0 %", f.Evidence["units that never fired in the run"]);
        Assert.Empty(Run(d, Sparse(0.72, 0.69)));
        // A ReLU after a regression output: 92% of its outputs are zero while its one unit fires now and then. Still a finding,
        // on the output clause (≥ 90%), and the message says which clause it met.
        var o = Assert.Single(Run(d, Sparse(0.92, 0.0)));
        Assert.Contains("only 0 % of its units fired for no sample in any batch of that run, but on average 92 % of its outputs are zero (at least 90 %)", o.Message);
        Assert.Empty(Run(d, Sparse(0.89, 0.0)));
    }

    [Fact]
    public void Dead_relu_sampling_every_step_fires_once_the_window_is_full()
    {
        // A window of 10 samples taken at every step spans only 10 steps: a layer off at every one of them is dead.
        var f = Run(new ActivationDetector(), ActsAt(Enumerable.Range(0, 12).Select(i => (long)i), _ => 0.9), new DetectorThresholds(), historyCapacity: 10);
        Assert.Equal(9, f[0].Step);
        Assert.Empty(Run(new ActivationDetector(), ActsAt(Enumerable.Range(0, 9).Select(i => (long)i), _ => 0.9), new DetectorThresholds(), historyCapacity: 10));
    }

    private static IEnumerable<StepObservations> HiddenGate(int n, double saturated)
        => Enumerable.Range(0, n).Select(i => new StepObservations
        {
            Step = i * 10, Sampled = true,
            Activations = [Act(i * 10, "gate", "Sigmoid", 0, saturated: saturated), Act(i * 10, "head", "Linear", 1), Act(i * 10, ModuleNames.Root, "Net", 2)],
        });

    [Fact]
    public void Saturation_boundary()
    {
        var d = new ActivationDetector();
        Assert.Equal("TD2004", Assert.Single(Run(d, HiddenGate(3, 0.51))).Code);
        Assert.Empty(Run(d, HiddenGate(3, 0.50)));
    }

    [Fact]
    public void The_models_output_sigmoid_may_saturate()
    {
        // A confident binary classifier's output sigmoid (nothing but its containers finishes after it) is not a finding.
        var d = new ActivationDetector();
        var steps = Enumerable.Range(0, 3).Select(i => new StepObservations
        {
            Step = i * 10, Sampled = true,
            Activations = [Act(i * 10, "fc", "Linear", 0), Act(i * 10, "head.sigmoid", "Sigmoid", 1, saturated: 0.9), Act(i * 10, "head", "Sequential", 2), Act(i * 10, ModuleNames.Root, "Net", 3)],
        });
        Assert.Empty(Run(d, steps));
        Assert.True(ActivationDetector.IsModelOutput(steps.First().Activations, "head.sigmoid"));
        Assert.False(ActivationDetector.IsModelOutput(steps.First().Activations, "fc"));
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

    /// <summary>20 unsampled steps of a flat loss, then <paramref name="n"/> sampled steps with this update ratio (loss still flat: stalled).</summary>
    private static IEnumerable<StepObservations> Updates(int n, double ratio, long start = 100, bool grad = true, double gradNorm = 1, double finalLoss = 1.0)
        => Enumerable.Range(0, 20).Select(i => new StepObservations { Step = start - 20 + i, Loss = 1.0 }).Concat(Enumerable.Range(0, n).Select(i => new StepObservations
        {
            Step = start + i * 10, Sampled = true, Loss = finalLoss,
            Parameters = [Weight(start + i * 10, "fc", 0, gradNorm, hasGrad: grad)],
            Updates = [new UpdateObservation(start + i * 10, "fc.weight", "fc", 2, ratio * 2, 2, true, grad, gradNorm)],
        }));

    [Fact]
    public void Update_ratio_boundaries()
    {
        var d = new ParameterDetector();
        Assert.Equal("TD2009", Assert.Single(Run(d, Updates(3, 0.051))).Code);
        Assert.Empty(Run(d, Updates(3, 0.049)));
        var low = Assert.Single(Run(d, Updates(3, 0.99e-5)));
        Assert.Equal("TD2010", low.Code);
        Assert.Contains("9.9e-6", low.Message);   // the number printed is the number tested
        Assert.Empty(Run(d, Updates(3, 1.01e-5)));
        // A loss that keeps falling (or a converged run) means the layer learns: raising the LR would be wrong.
        Assert.Empty(Run(d, Updates(3, 0.99e-5, finalLoss: 0.2)));
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
