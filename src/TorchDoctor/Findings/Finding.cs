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
    IReadOnlyDictionary<string, string> Evidence,
    string Advice)
{
    /// <summary>Creates a finding from a catalogue entry.</summary>
    public static Finding Create(FindingCode code, string? module, string message, string advice,
        IReadOnlyDictionary<string, string>? evidence = null, long? step = null)
        => new(code.Code, code.Slug, code.Severity, module, step, message,
               evidence ?? new Dictionary<string, string>(), advice);

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
/// <param name="Summary">One line on what triggers it.</param>
public sealed record FindingCode(string Code, string Slug, Severity Severity, string Summary);

/// <summary>
/// The finding catalogue, range TD1xxx (model structure and forward pass). Codes never change meaning
/// once published; docs/findings.md documents each (a test keeps the two in step). Other ranges live in
/// their own <c>*Codes</c> classes: TD2xxx training, TD3xxx data, TD4xxx porting.
/// </summary>
public static class FindingCodes
{
    /// <summary>A module with parameters whose hooks never fired while its parameters received gradients.</summary>
    public static readonly FindingCode HookBypassed = new("TD1001", "hook-bypassed", Severity.Warning,
        "A module's parameters received gradients but its forward hooks never fired: its parent called child.forward(x) instead of child.call(x).");

    /// <summary>A registered module that did not run in the forward pass.</summary>
    public static readonly FindingCode UnusedModule = new("TD1002", "unused-module", Severity.Warning,
        "A registered module did not run in the forward pass (and its parameters got no gradient).");

    /// <summary>The forward pass failed on a shape rule.</summary>
    public static readonly FindingCode ShapeMismatch = new("TD1003", "shape-mismatch", Severity.Error,
        "The forward pass failed because a module received a tensor whose shape breaks its rule.");

    /// <summary>The forward pass failed for a reason other than a recognised shape rule.</summary>
    public static readonly FindingCode ForwardFailed = new("TD1004", "forward-failed", Severity.Error,
        "The forward pass threw an error that is not a recognised shape rule.");

    /// <summary>The same parameter tensor is held by more than one module (tied weights).</summary>
    public static readonly FindingCode SharedParameter = new("TD1005", "shared-parameter", Severity.Info,
        "One parameter tensor is registered in several modules (tied weights); it is counted once.");

    /// <summary>A module called more than once in one forward pass.</summary>
    public static readonly FindingCode RecursiveModule = new("TD1006", "recursive-module", Severity.Info,
        "A module ran more than once in one forward pass; its parameters are counted once.");

    /// <summary>A module type whose internals hooks cannot see (TorchScript, native RNN internals).</summary>
    public static readonly FindingCode OpaqueModule = new("TD1007", "opaque-module", Severity.Info,
        "A module's children cannot be observed one by one (TorchScript or native code runs them).");

    /// <summary>A parameter that needs gradients received none although the module ran.</summary>
    public static readonly FindingCode NoGradient = new("TD1008", "no-gradient", Severity.Warning,
        "A trainable parameter received no gradient from the output although its module ran.");

    /// <summary>
    /// Every code of the catalogue: the public static <see cref="FindingCode"/> fields of every static
    /// class in this assembly whose name ends in <c>Codes</c> (one class per range: this one for TD1xxx,
    /// others for training, data, porting), in code order.
    /// </summary>
    public static IReadOnlyList<FindingCode> All { get; } = typeof(FindingCodes).Assembly.GetTypes()
        .Where(t => t.IsAbstract && t.IsSealed && t.Name.EndsWith("Codes", StringComparison.Ordinal))
        .SelectMany(t => t.GetFields(System.Reflection.BindingFlags.Public | System.Reflection.BindingFlags.Static))
        .Where(f => f.FieldType == typeof(FindingCode))
        .Select(f => (FindingCode)f.GetValue(null)!)
        .OrderBy(c => c.Code, StringComparer.Ordinal)
        .ToList();

    /// <summary>The entry with this code or slug, or null.</summary>
    public static FindingCode? Find(string codeOrSlug)
        => All.FirstOrDefault(c => c.Code.Equals(codeOrSlug, StringComparison.OrdinalIgnoreCase) || c.Slug.Equals(codeOrSlug, StringComparison.OrdinalIgnoreCase));
}
