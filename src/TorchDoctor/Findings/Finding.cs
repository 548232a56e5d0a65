namespace TorchDoctor.Findings;

/// <summary>How much a finding matters.</summary>
public enum Severity
{
    /// <summary>Worth knowing; nothing is wrong.</summary>
    Info,
    /// <summary>Probably wrong or wasteful; training may still work.</summary>
    Warning,
    /// <summary>Wrong: results or training are broken until it is fixed.</summary>
    Error,
}

/// <summary>
/// One diagnosis: what is wrong (<see cref="Message"/>), where (<see cref="Module"/>, <see cref="Step"/>),
/// the numbers behind it (<see cref="Evidence"/>) and what to do (<see cref="Advice"/>).
/// </summary>
/// <param name="Code">Stable code from the catalogue in docs/findings.md, e.g. <c>TD1001</c>.</param>
/// <param name="Slug">Stable readable name of the code, e.g. <c>hook-bypassed</c>.</param>
/// <param name="Severity">How much it matters.</param>
/// <param name="Module">Module path (e.g. <c>layer1.0.conv1</c>), or null when the finding is not about one module.</param>
/// <param name="Step">Training step, or null for static checks.</param>
/// <param name="Message">What is wrong, in one or two plain sentences.</param>
/// <param name="Evidence">The measured numbers, by name.</param>
/// <param name="Advice">The fix, with concrete code where there is one.</param>
public sealed record Finding(
    string Code,
    string Slug,
    Severity Severity,
    string? Module,
    long? Step,
    string Message,
    Evidence Evidence,
    string Advice)
{
    /// <summary>The kind of fix <see cref="Advice"/> gives (default: the catalogue entry's; overridable with <c>with</c>).</summary>
    public RemedyKind Remedy { get; init; }

    /// <summary>Creates a finding from a catalogue entry; <paramref name="remedy"/> overrides the entry's remedy.</summary>
    public static Finding Create(FindingCode code, string? module, string message, string advice,
        Evidence? evidence = null, long? step = null, RemedyKind? remedy = null)
        => new(code.Code, code.Slug, code.Severity, module, step, message, evidence ?? new Evidence(), advice)
        {
            Remedy = remedy ?? code.Remedy,
        };

    /// <inheritdoc />
    public override string ToString()
        => $"{Code} {Slug} [{Severity.ToString().ToLowerInvariant()}]" +
           (Module is null ? "" : $" at {Module}") + (Step is null ? "" : $" step {Step}") +
           $": {Message} Fix: {Advice}";
}

/// <summary>A catalogue entry: a stable code, its slug and its default severity.</summary>
/// <param name="Code">The code, e.g. <c>TD1001</c>.</param>
/// <param name="Slug">The slug, e.g. <c>hook-bypassed</c>.</param>
/// <param name="Severity">Default severity.</param>
/// <param name="Summary">One line on what triggers it (its numbers match docs/findings.md; a test checks).</param>
/// <param name="Remedy">The kind of fix its findings advise.</param>
public sealed record FindingCode(string Code, string Slug, Severity Severity, string Summary, RemedyKind Remedy = RemedyKind.None);

