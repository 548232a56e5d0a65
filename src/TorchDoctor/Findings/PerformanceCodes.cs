namespace TorchDoctor.Findings;

/// <summary>
/// The finding catalogue, range TD6xxx: time and memory (the profiler and the leak watch). Codes for evaluation
/// run with grad mode on belong to the convergence range; the profiler reports their measured bytes.
/// </summary>
public static class PerformanceCodes
{
    /// <summary>Reachable live tensors keep growing after collections.</summary>
    public static readonly FindingCode TensorLeak = new("TD6001", "tensor-leak", Severity.Error,
        "The number of live tensors that survive a garbage collection grows step after step: something keeps a reference to a tensor made at every step.");
    /// <summary>Graphs of past steps (or native memory) keep growing after collections while the program's live tensor count is flat.</summary>
    public static readonly FindingCode GraphLeak = new("TD6002", "native-memory-leak", Severity.Error,
        "Autograd graphs of past steps stay alive (or native memory grows) although the number of live tensors is flat: a kept tensor chains every step's graph to the next (e.g. total = total + loss).");
    /// <summary>One module takes most of the profiled step.</summary>
    public static readonly FindingCode DominantModule = new("TD6003", "dominant-module", Severity.Info,
        "One module takes at least half of the forward and backward time of the profiled steps.");
    /// <summary>The step waits for data for a large share of its time.</summary>
    public static readonly FindingCode DataWait = new("TD6004", "data-wait", Severity.Warning,
        "The training step waits for the next batch for at least 20% of its time: the data pipeline, not the model, sets the speed.");
    /// <summary>The optimizer step costs more than forward and backward together.</summary>
    public static readonly FindingCode SlowOptimizerStep = new("TD6005", "slow-optimizer-step", Severity.Warning,
        "optimizer.step() takes longer than the forward and backward passes together.");
    /// <summary>Time outside every module, phase and region.</summary>
    public static readonly FindingCode UnexplainedTime = new("TD6006", "unexplained-time", Severity.Warning,
        "At least 10% of the step runs outside every module, phase and region the profiler knows (host copies, logging, per-step .item() syncs).");
}
