using System.Globalization;
using TorchDoctor.Findings;
using TorchDoctor.Observations;

namespace TorchDoctor.Detectors;

/// <summary>
/// A rule family over training observations. Implementations are pure: the same step and history give
/// the same findings, so they are tested with synthetic observation streams.
/// </summary>
public interface ITrainingDetector
{
    /// <summary>Findings for the step just observed (already added to <paramref name="history"/>).</summary>
    IEnumerable<Finding> Detect(StepObservations step, TrainingHistory history, DetectorThresholds thresholds);
}

/// <summary>The detectors the doctor runs, in order.</summary>
public static class TrainingDetectors
{
    /// <summary>Every built-in training detector.</summary>
    public static IReadOnlyList<ITrainingDetector> All { get; } =
    [
        new NonFiniteDetector(), new GradientFlowDetector(), new ActivationDetector(), new ParameterDetector(),
    ];

    internal static string F(double v) => v == 0 ? "0" : Math.Abs(v) >= 1e4 || Math.Abs(v) < 1e-3
        ? v.ToString("0.###e+0", CultureInfo.InvariantCulture)
        : v.ToString("0.####", CultureInfo.InvariantCulture);

    internal static double Median(IEnumerable<double> xs)
    {
        var a = xs.Where(double.IsFinite).OrderBy(x => x).ToArray();
        if (a.Length == 0) return double.NaN;
        return a.Length % 2 == 1 ? a[a.Length / 2] : (a[a.Length / 2 - 1] + a[a.Length / 2]) / 2;
    }
}
