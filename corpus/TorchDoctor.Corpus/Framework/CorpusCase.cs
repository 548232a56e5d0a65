using TorchDoctor.Findings;

namespace TorchDoctor.Corpus;

/// <summary>What a program is: a bug program (with its fixed twin) or a clean program (no twin).</summary>
public enum CaseKind
{
    /// <summary>One bug users really report; <see cref="CaseContext.Fixed"/> selects the repaired twin.</summary>
    Bug,
    /// <summary>A correct program: no finding above Info may appear.</summary>
    Clean,
}

/// <summary>How the program attaches the doctor (the program itself calls <c>Doctor.Attach</c>).</summary>
public enum AttachMode
{
    /// <summary>The README: <c>Doctor.Attach(model, optimizer, ctx.Options)</c>, BeginStep/AfterBackward/EndStep.</summary>
    Readme,
    /// <summary>The README loop without the optimizer: <c>Doctor.Attach(model)</c>.</summary>
    NoOptimizer,
    /// <summary>The README loop with <c>ProbeKinds.All</c> (every-step NaN/Inf watch from step 0).</summary>
    AllProbes,
    /// <summary>The README loop at default options (SampleInterval 100), as a first-time user runs it.</summary>
    Defaults,
}

/// <summary>Which half of the corpus a program belongs to; fixed by a hash of its id, before anything was measured.</summary>
public enum Split
{
    /// <summary>Thresholds may be tuned on these programs.</summary>
    Tune,
    /// <summary>Never tuned on: the held-out half.</summary>
    Holdout,
}

/// <summary>Capability names: the detectors a program needs. Existing ones are listed in <see cref="Existing"/>.</summary>
public static class Capabilities
{
    /// <summary>The training detectors that exist today (gradients, activations, NaN/Inf, parameters, optimizer, hook bypass).</summary>
    public const string Training = "training";
    /// <summary>Issue 11: the sampling schedule (findings within the first steps at default options).</summary>
    public const string Probes = "probes#11";
    /// <summary>Issue 12: convergence, loss calls, loop mistakes (zero_grad, eval/train mode).</summary>
    public const string Convergence = "convergence#12";
    /// <summary>Issue 13: memory and leak detection.</summary>
    public const string Memory = "memory#13";

    /// <summary>
    /// Issue 13, not built: tensors dropped without a dispose scope pile up until the garbage collector runs. They are not
    /// reachable, so the leak watch (reachable tensors that keep growing after a collection, the definition) frees
    /// them at its own collections and rightly calls nothing a leak; naming the native memory they hold between collections
    /// needs a rule on tensors awaiting collection that does not exist yet.
    /// </summary>
    public const string MemoryUnreachable = "memory-gc#13";

    /// <summary>Capabilities the acceptance floors apply to (an issue adds its name here when it lands).</summary>
    public static IReadOnlySet<string> Existing { get; } = new HashSet<string> { Training, Probes, Convergence, Memory };
}

/// <summary>The finding a bug program must produce: its code (or slug) and module.</summary>
/// <param name="Code">Finding code, e.g. <c>TD2003</c>.</param>
/// <param name="Module">Module path as findings print it; <see cref="Root"/> for the model itself; null when the finding has no module.</param>
public sealed record Expectation(string Code, string? Module)
{
    /// <summary>The root module's name in findings.</summary>
    public const string Root = "(root)";

    /// <summary>True when <paramref name="f"/> is this finding (same code, same module).</summary>
    public bool Matches(Finding f) => (f.Code == Code || f.Slug == Code) && f.Module == Module;

    /// <inheritdoc />
    public override string ToString() => Module is null ? Code : $"{Code} at {Module}";
}

/// <summary>What a corpus program declares about itself.</summary>
public sealed record CaseInfo
{
    /// <summary>Unique id (kebab-case); also decides the split.</summary>
    public required string Id { get; init; }
    /// <summary>Bug or clean.</summary>
    public CaseKind Kind { get; init; } = CaseKind.Bug;
    /// <summary>The bug in one line (or, for clean programs, the program's shape).</summary>
    public required string Title { get; init; }
    /// <summary>Where users report this bug: benchmark category and/or a forum/issue thread.</summary>
    public required string Source { get; init; }
    /// <summary>The finding the bug program must produce; null for clean programs.</summary>
    public Expectation? Expected { get; init; }
    /// <summary>The capability the expected finding needs (<see cref="Capabilities"/>).</summary>
    public string Capability { get; init; } = Capabilities.Training;
    /// <summary>How the program attaches the doctor.</summary>
    public AttachMode Attach { get; init; } = AttachMode.Readme;
    /// <summary>Training steps.</summary>
    public int Steps { get; init; } = 200;
    /// <summary>Seed for torch and data.</summary>
    public int Seed { get; init; } = 1;
    /// <summary>SampleInterval of the doctor (except <see cref="AttachMode.Defaults"/>).</summary>
    public int SampleInterval { get; init; } = 10;
    /// <summary>What the fixed twin changes (bug programs).</summary>
    public string? Fix { get; init; }
    /// <summary>The split: a hash of <see cref="Id"/> (the low bit of the first byte of its UTF-8 SHA-256: 0 → tune, 1 → holdout).</summary>
    public Split Split => SplitOf(Id);

    /// <summary>The split of an id.</summary>
    public static Split SplitOf(string id)
        => (System.Security.Cryptography.SHA256.HashData(System.Text.Encoding.UTF8.GetBytes(id))[0] & 1) == 0 ? Split.Tune : Split.Holdout;
}

/// <summary>
/// One corpus program. Subclass it in <c>Cases/&lt;capability&gt;/YourCase.cs</c>: declare <see cref="Info"/> and write
/// <see cref="Run"/> the way a user writes a TorchSharp training loop (own model class, own loop, README-style
/// <c>Doctor.Attach(model, optimizer, ctx.Options)</c>), with the bug guarded by <c>ctx.Fixed</c>. Return the doctor's
/// findings. The runner finds every subclass by reflection.
/// </summary>
public abstract class CorpusCase
{
    /// <summary>What the program declares.</summary>
    public abstract CaseInfo Info { get; }

    /// <summary>Runs the program (the bug, or its fixed twin when <see cref="CaseContext.Fixed"/>) and returns the doctor's findings.</summary>
    public abstract IReadOnlyList<Finding> Run(CaseContext ctx);
}
