using TorchDoctor.Detectors;
using TorchDoctor.Findings;
using TorchDoctor.Observations;

namespace TorchDoctor.Tests.Detectors;

/// <summary>Builds synthetic observation streams for detector tests: no model, no tensors.</summary>
internal static class Synthetic
{
    public static ParameterObservation Weight(long step, string module, int order, double gradNorm, double meanAbs = 1e-3, bool hasGrad = true, double gradNonFinite = 0)
        => new()
        {
            Step = step, Name = module + ".weight", Module = module, ExecutionOrder = order, Rank = 2, Elements = 100,
            RequiresGrad = true, HasGradient = hasGrad, GradNorm = gradNorm, GradMeanAbs = meanAbs, WeightNorm = 1, GradNonFinite = (long)gradNonFinite,
        };

    public static ActivationObservation Act(long step, string module, string type, int order, double? zeroFraction = null, double? saturated = null,
        long nonFinite = 0, long inputNonFinite = 0)
        => new()
        {
            Step = step, Module = module, ModuleType = type, ExitOrder = order, Elements = 1000,
            ZeroFraction = zeroFraction, DeadUnitFraction = zeroFraction is null ? null : zeroFraction / 2, SaturatedFraction = saturated,
            NonFinite = nonFinite, InputNonFinite = inputNonFinite,
        };

    /// <summary>Feeds steps through a history and a detector; returns every finding.</summary>
    public static List<Finding> Run(ITrainingDetector detector, IEnumerable<StepObservations> steps, DetectorThresholds? t = null, int historyCapacity = 20)
    {
        t ??= new DetectorThresholds();
        var h = new TrainingHistory(historyCapacity);
        var all = new List<Finding>();
        foreach (var s in steps)
        {
            h.Add(s);
            all.AddRange(detector.Detect(s, h, t));
        }
        return all;
    }

    /// <summary>Sampled steps whose weight gradients go from <paramref name="first"/> (layer 0) to <paramref name="last"/> (layer 2).</summary>
    public static IEnumerable<StepObservations> GradientProfile(int steps, double first, double middle, double last, double meanAbs = 1e-3, double? loss = 1.0)
        => Enumerable.Range(0, steps).Select(i => new StepObservations
        {
            Step = i * 10, Sampled = true, Loss = loss,
            Parameters = [Weight(i * 10, "l0", 0, first, meanAbs), Weight(i * 10, "l1", 1, middle), Weight(i * 10, "l2", 2, last)],
            GlobalGradNorm = Math.Sqrt(first * first + middle * middle + last * last),
        });
}
