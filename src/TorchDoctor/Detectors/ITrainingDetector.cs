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
    /// <summary>
    /// The observations this detector reads (so a host knows which monitors it depends on, and docs can say what
    /// turning a probe off costs). Default: <see cref="ObservationKinds.All"/>.
    /// </summary>
    ObservationKinds Needs => ObservationKinds.All;

    /// <summary>
    /// True when the detector still runs after the loss went NaN/Inf (the run has diverged and every other statistic is
    /// a consequence). Only the NaN/Inf origin detector does; default false.
    /// </summary>
    bool RunsAfterDivergence => false;

    /// <summary>Findings for the step just observed (already added to <paramref name="history"/>).</summary>
    IEnumerable<Finding> Detect(StepObservations step, TrainingHistory history, DetectorThresholds thresholds);
}

/// <summary>Kinds of training observations a detector may read.</summary>
[Flags]
public enum ObservationKinds
{
    /// <summary>Nothing.</summary>
    None = 0,
    /// <summary>The loss.</summary>
    Loss = 1,
    /// <summary>Per-module activation statistics.</summary>
    Activations = 2,
    /// <summary>Gradients flowing into module outputs.</summary>
    ActivationGradients = 4,
    /// <summary>Parameter gradients and weight norms.</summary>
    Parameters = 8,
    /// <summary>Parameter updates ‖Δw‖/‖w‖.</summary>
    Updates = 16,
    /// <summary>Every kind.</summary>
    All = Loss | Activations | ActivationGradients | Parameters | Updates,
}

/// <summary>The detectors the doctor runs, in order.</summary>
public static class TrainingDetectors
{
    /// <summary>Every built-in training detector.</summary>
    public static IReadOnlyList<ITrainingDetector> All { get; } =
    [
        new NonFiniteDetector(), new GradientFlowDetector(), new ActivationDetector(), new ParameterDetector(),
    ];

    internal static string F(double v) => EvidenceValue.CompactText(v);

    internal static double Median(IEnumerable<double> xs)
    {
        var a = xs.Where(double.IsFinite).OrderBy(x => x).ToArray();
        if (a.Length == 0) return double.NaN;
        return a.Length % 2 == 1 ? a[a.Length / 2] : (a[a.Length / 2 - 1] + a[a.Length / 2]) / 2;
    }
}
