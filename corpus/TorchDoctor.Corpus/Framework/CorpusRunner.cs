using System.Diagnostics;
using TorchDoctor.Findings;
using TorchSharp;

namespace TorchDoctor.Corpus;

/// <summary>Which program of a case ran.</summary>
public enum Variant
{
    /// <summary>The bug program.</summary>
    Bug,
    /// <summary>The bug program's fixed twin.</summary>
    FixedTwin,
    /// <summary>A clean program.</summary>
    Clean,
}

/// <summary>The outcome of one program run.</summary>
/// <param name="Info">The program's declaration.</param>
/// <param name="Variant">Bug, fixed twin or clean.</param>
/// <param name="Findings">Every finding the doctor raised.</param>
/// <param name="Seconds">Wall time of the run.</param>
/// <param name="Error">The exception message when the program itself failed (a corpus bug, never a pass).</param>
public sealed record RunResult(CaseInfo Info, Variant Variant, IReadOnlyList<Finding> Findings, double Seconds, string? Error)
{
    /// <summary>Findings at Warning or Error severity.</summary>
    public IReadOnlyList<Finding> Warnings => Findings.Where(f => f.Severity >= Severity.Warning).ToList();
    /// <summary>True when the expected finding is among the findings (bug programs).</summary>
    public bool Detected => Info.Expected is { } e && Findings.Any(e.Matches);
    /// <summary>True when the expected code came out, but at another module.</summary>
    public bool WrongModule => !Detected && Info.Expected is { } e && Findings.Any(f => f.Code == e.Code || f.Slug == e.Code);
    /// <summary>Warnings other than the expected finding.</summary>
    public IReadOnlyList<Finding> Others => Warnings.Where(f => Info.Expected is not { } e || !e.Matches(f)).ToList();
}

/// <summary>Finds the corpus programs and runs them.</summary>
public static class CorpusRunner
{
    /// <summary>Every program in the corpus assembly (every non-abstract <see cref="CorpusCase"/>), by id.</summary>
    public static IReadOnlyList<CorpusCase> Discover()
    {
        var cases = typeof(CorpusRunner).Assembly.GetTypes()
            .Where(t => !t.IsAbstract && typeof(CorpusCase).IsAssignableFrom(t) && t.GetConstructor(Type.EmptyTypes) is not null)
            .Select(t => (CorpusCase)Activator.CreateInstance(t)!)
            .OrderBy(c => c.Info.Id, StringComparer.Ordinal)
            .ToList();
        var dup = cases.GroupBy(c => c.Info.Id).FirstOrDefault(g => g.Count() > 1);
        if (dup is not null) throw new InvalidOperationException($"corpus id '{dup.Key}' is declared twice");
        foreach (var c in cases) Validate(c.Info);
        return cases;
    }

    private static void Validate(CaseInfo i)
    {
        if (i.Kind == CaseKind.Bug && (i.Expected is null || i.Fix is null))
            throw new InvalidOperationException($"corpus case '{i.Id}': a bug program declares Expected and Fix");
        if (i.Kind == CaseKind.Clean && i.Expected is not null)
            throw new InvalidOperationException($"corpus case '{i.Id}': a clean program expects no finding");
    }

    /// <summary>Selects programs by split (null: all) and capability (null: all).</summary>
    public static IEnumerable<CorpusCase> Select(IEnumerable<CorpusCase> cases, Split? split, string? capability, string? id = null)
        => cases.Where(c => (split is null || c.Info.Split == split) && (capability is null || c.Info.Capability == capability) &&
                            (id is null || c.Info.Id == id));

    /// <summary>Runs a program: the bug and its fixed twin, or the clean program.</summary>
    public static IEnumerable<RunResult> Run(CorpusCase c) => Run(c, fixedInterval: false);

    /// <summary>Runs a program; <paramref name="fixedInterval"/> samples every SampleInterval-th step (no schedule, as before issue 11).</summary>
    public static IEnumerable<RunResult> Run(CorpusCase c, bool fixedInterval)
    {
        if (c.Info.Kind == CaseKind.Clean)
            yield return RunOne(c, Variant.Clean, fixedInterval);
        else
        {
            yield return RunOne(c, Variant.Bug, fixedInterval);
            yield return RunOne(c, Variant.FixedTwin, fixedInterval);
        }
    }

    /// <summary>Runs one variant, seeded, without a surrounding dispose scope (as a user's Main); a program that throws gives a result with <see cref="RunResult.Error"/>.</summary>
    public static RunResult RunOne(CorpusCase c, Variant v, bool fixedInterval = false)
    {
        var info = c.Info;
        var sw = Stopwatch.StartNew();
        try
        {
            // No dispose scope around the program: a user's Main has none, and an outer scope would keep every tensor a program
            // moves out of its step scope alive (a running total would look like a list of tensors). Programs dispose what they
            // make; a collection after each run frees what a leaking program dropped.
            torch.manual_seed(info.Seed);
            var findings = c.Run(new CaseContext(info, v == Variant.FixedTwin, fixedInterval)).ToList();
            return new RunResult(info, v, findings, sw.Elapsed.TotalSeconds, null);
        }
        catch (Exception ex)
        {
            if (Environment.GetEnvironmentVariable("CORPUS_TRACE") is not null) Console.Error.WriteLine(ex);
            return new RunResult(info, v, [], sw.Elapsed.TotalSeconds, $"{ex.GetType().Name}: {ex.Message.Split('\n')[0]}");
        }
        finally
        {
            GC.Collect();
            GC.WaitForPendingFinalizers();
        }
    }
}
