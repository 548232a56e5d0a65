namespace TorchDoctor.Profiling;

/// <summary>The parts of a training step the profiler times (<see cref="Profiler.Phase(StepPhase)"/>).</summary>
public enum StepPhase
{
    /// <summary>Waiting for the next batch (the loader's <c>MoveNext</c>).</summary>
    DataWait,
    /// <summary>The model's forward pass.</summary>
    Forward,
    /// <summary>The loss computation.</summary>
    Loss,
    /// <summary><c>loss.backward()</c>.</summary>
    Backward,
    /// <summary><c>optimizer.step()</c> (and <c>zero_grad</c>).</summary>
    OptimizerStep,
    /// <summary>Anything else the user marks.</summary>
    Other,
}

/// <summary>
/// Which steps are profiled, like torch.profiler's schedule: skip <see cref="Wait"/> steps, run <see cref="Warmup"/>
/// steps with the hooks on but discard them, record <see cref="Active"/> steps; repeat the cycle <see cref="Repeat"/>
/// times (0: forever).
/// </summary>
/// <param name="Wait">Steps skipped at the start of each cycle.</param>
/// <param name="Warmup">Steps run with the profiler on and thrown away (caches, lazy initialisation).</param>
/// <param name="Active">Steps recorded.</param>
/// <param name="Repeat">Cycles; 0 repeats forever.</param>
public sealed record ProfileSchedule(int Wait = 1, int Warmup = 1, int Active = 3, int Repeat = 1)
{
    /// <summary>What the profiler does at <paramref name="step"/>: 0 skip, 1 warm up, 2 record.</summary>
    public int StateOf(long step)
    {
        int cycle = Wait + Warmup + Active;
        if (cycle <= 0 || Active <= 0) return 0;
        if (Repeat > 0 && step >= (long)cycle * Repeat) return 0;
        long i = step % cycle;
        return i < Wait ? 0 : i < Wait + Warmup ? 1 : 2;
    }
}

/// <summary>Options of <see cref="Profiler.Attach"/>.</summary>
public sealed record ProfilerOptions
{
    /// <summary>Which steps to record. Default: wait 1, warm up 1, record 3, once.</summary>
    public ProfileSchedule Schedule { get; init; } = new();
    /// <summary>Time the backward pass at module boundaries (an identity autograd node on each module output; ~30 µs per call). Default true.</summary>
    public bool Backward { get; init; } = true;
    /// <summary>
    /// Called before every clock read on a non-CPU device to wait for queued kernels (e.g. <c>() =&gt; torch.cuda.synchronize()</c>);
    /// without it GPU times are launch times. Null on the CPU, where kernels run synchronously.
    /// </summary>
    public Action? Synchronize { get; init; }
    /// <summary>Profiled steps kept (the most recent). Default 50.</summary>
    public int MaxSteps { get; init; } = 50;
}
