using TorchDoctor.Probes;
using TorchDoctor.Training;

namespace TorchDoctor.Corpus;

/// <summary>What the runner hands a program: which twin to run, its steps and seed, and the doctor's options for its attach mode.</summary>
public sealed class CaseContext
{
    /// <summary>Creates the context of one run.</summary>
    public CaseContext(CaseInfo info, bool fixedTwin, bool fixedInterval = false)
    {
        Info = info;
        Fixed = fixedTwin;
        Options = info.Attach switch
        {
            AttachMode.Defaults => new DoctorOptions(),
            AttachMode.AllProbes => new DoctorOptions { SampleInterval = info.SampleInterval, Probes = ProbeKinds.All },
            _ => new DoctorOptions { SampleInterval = info.SampleInterval },
        };
        // --fixed-interval: the sampling before issue 11's schedule (every SampleInterval-th step from step 0).
        if (fixedInterval) Options = Options with { Schedule = null };
    }

    /// <summary>The program's declaration.</summary>
    public CaseInfo Info { get; }
    /// <summary>True for the fixed twin: the program takes the repaired path at its bug.</summary>
    public bool Fixed { get; }
    /// <summary>True for the bug program (not the twin, not a clean program).</summary>
    public bool Buggy => Info.Kind == CaseKind.Bug && !Fixed;
    /// <summary>Training steps.</summary>
    public int Steps => Info.Steps;
    /// <summary>Seed (the runner already called <c>torch.manual_seed(Seed)</c>).</summary>
    public int Seed => Info.Seed;
    /// <summary>Options to pass to <c>Doctor.Attach</c>.</summary>
    public DoctorOptions Options { get; }
}
