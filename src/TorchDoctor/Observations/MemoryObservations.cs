namespace TorchDoctor.Observations;

/// <summary>
/// One leak-watch check: live tensors and native bytes measured right after a full garbage collection (finalizers
/// run), so only tensors something still references are counted.
/// </summary>
/// <param name="Step">The step after which the check ran.</param>
/// <param name="LiveTensors">TorchSharp's live tensor count (<c>Tensor.TotalCount</c>) after the collection.</param>
/// <param name="NativeBytes">Native bytes in use after the collection (<see cref="Probes.NativeMemory"/>).</param>
/// <param name="CollectMilliseconds">What the collection cost.</param>
/// <param name="ProbeTensors">Of <paramref name="LiveTensors"/>, those held by TorchDoctor's own autograd nodes (<see cref="Probes.ProbeNodes"/>): nodes of graphs a program keeps alive hold one each.</param>
/// <param name="PastStepGraphs">Autograd graphs of earlier training steps still alive after the collection (the doctor's output marker of each step).</param>
public sealed record MemoryCheck(long Step, long LiveTensors, long NativeBytes, double CollectMilliseconds, long ProbeTensors = 0, long PastStepGraphs = 0)
{
    /// <summary>Live tensors that belong to the program: <see cref="LiveTensors"/> minus <see cref="ProbeTensors"/>.</summary>
    public long ProgramTensors => LiveTensors - ProbeTensors;
}

/// <summary>Memory of one step, for the timeline (bounded). Counters are read every step; memory sizes only at checks.</summary>
/// <param name="Step">Step index.</param>
/// <param name="LiveTensors">Live tensors at the end of the step (before any collection).</param>
/// <param name="PeakTensors">TorchSharp's peak live tensor count so far.</param>
/// <param name="Check">The leak check run after this step, or null.</param>
/// <param name="ResidentBytes">Process resident set size, read at check steps only.</param>
/// <param name="PeakResidentBytes">Peak resident set size so far, read at check steps only.</param>
public sealed record MemoryStepObservation(long Step, long LiveTensors, long PeakTensors, MemoryCheck? Check, long? ResidentBytes, long? PeakResidentBytes) : IObservation;
