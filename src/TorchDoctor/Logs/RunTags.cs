using TorchDoctor.Findings;
using TorchDoctor.Observations;

namespace TorchDoctor.Logs;

/// <summary>
/// The scalar tags TorchDoctor writes (TensorBoard and the run log alike), so both read back the same way.
/// </summary>
public static class RunTags
{
    /// <summary>Training loss at every step.</summary>
    public const string Loss = "train/loss";
    /// <summary>Learning rate of the first param group.</summary>
    public const string LearningRate = "lr";
    /// <summary>Global gradient L2 norm (sampled steps).</summary>
    public const string GlobalGradNorm = "grad_norm/global";
    /// <summary>Prefix of per-module gradient L2 norms.</summary>
    public const string GradNormPrefix = "grad_norm/";
    /// <summary>Prefix of per-module dead-unit fractions (ReLU family).</summary>
    public const string DeadFractionPrefix = "dead_fraction/";
    /// <summary>Process resident memory in MiB (sampled steps).</summary>
    public const string MemoryMb = "memory/resident_mb";
    /// <summary>Mean training loss of an epoch (<c>doctor.EndEpoch</c>).</summary>
    public const string EpochTrainLoss = "train/epoch_loss";
    /// <summary>Validation loss (<c>doctor.EndEpoch</c>, or logged by the loop).</summary>
    public const string ValLoss = "val/loss";
    /// <summary>Training accuracy of an epoch.</summary>
    public const string TrainAccuracy = "train/accuracy";
    /// <summary>Validation accuracy.</summary>
    public const string ValAccuracy = "val/accuracy";
    /// <summary>Live TorchSharp tensors at the end of each step (the leak watch's timeline).</summary>
    public const string LiveTensors = "memory/live_tensors";
    /// <summary>Live tensors that survived a full collection, at the leak watch's check steps.</summary>
    public const string LiveTensorsAfterCollect = "memory/live_tensors_after_gc";

    /// <summary>The module name used in tags (the root module is <c>(root)</c>).</summary>
    public static string ModuleName(string path) => ModuleNames.Display(path);

    /// <summary>Per-module gradient norms of a step: the L2 norm over each module's own parameters, in execution order.</summary>
    public static IEnumerable<(string Module, double Norm)> ModuleGradNorms(StepObservations step)
    {
        ArgumentNullException.ThrowIfNull(step);
        return step.Parameters.Where(p => p.HasGradient)
            .GroupBy(p => p.Module)
            .OrderBy(g => g.Min(p => p.ExecutionOrder))
            .Select(g => (ModuleName(g.Key), Math.Sqrt(g.Sum(p => p.GradNorm * p.GradNorm))));
    }

    /// <summary>Dead-unit fractions of a step's ReLU-family modules, in exit order (first call of each module).</summary>
    public static IEnumerable<(string Module, double Fraction)> DeadFractions(StepObservations step)
    {
        ArgumentNullException.ThrowIfNull(step);
        return step.Activations.Where(a => a.DeadUnitFraction is not null && !a.FinitenessOnly)
            .GroupBy(a => a.Module).Select(g => (ModuleName(g.Key), g.First().DeadUnitFraction!.Value));
    }
}
