namespace TorchDoctor.Findings;

/// <summary>
/// The finding catalogue, range TD1xxx (model structure and forward pass). Codes never change meaning
/// once published; docs/findings.md documents each (a test keeps the two in step). Other ranges live in
/// their own <c>*Codes</c> classes (all of them: <see cref="FindingCatalogue"/>): TD2xxx training, TD3xxx data, TD4xxx porting.
/// </summary>
public static class StructureCodes
{
    /// <summary>A module with parameters whose hooks never fired while its parameters received gradients.</summary>
    public static readonly FindingCode HookBypassed = new("TD1001", "hook-bypassed", Severity.Warning,
        "A module's parameters received gradients but its forward hooks never fired: its parent called child.forward(x) instead of child.call(x).", RemedyKind.UseCall);

    /// <summary>A registered module that did not run in the forward pass.</summary>
    public static readonly FindingCode UnusedModule = new("TD1002", "unused-module", Severity.Warning,
        "A registered module did not run in the forward pass (and its parameters got no gradient).", RemedyKind.UseOrRemoveModule);

    /// <summary>The forward pass failed on a shape rule.</summary>
    public static readonly FindingCode ShapeMismatch = new("TD1003", "shape-mismatch", Severity.Error,
        "The forward pass failed because a module received a tensor whose shape breaks its rule.", RemedyKind.FixShape);

    /// <summary>The forward pass failed for a reason other than a recognised shape rule.</summary>
    public static readonly FindingCode ForwardFailed = new("TD1004", "forward-failed", Severity.Error,
        "The forward pass threw an error that is not a recognised shape rule.", RemedyKind.FixShape);

    /// <summary>The same parameter tensor is held by more than one module (tied weights).</summary>
    public static readonly FindingCode SharedParameter = new("TD1005", "shared-parameter", Severity.Info,
        "One parameter tensor is registered in several modules (tied weights); it is counted once.", RemedyKind.None);

    /// <summary>A module called more than once in one forward pass.</summary>
    public static readonly FindingCode RecursiveModule = new("TD1006", "recursive-module", Severity.Info,
        "A module ran more than once in one forward pass; its parameters are counted once.", RemedyKind.None);

    /// <summary>A module type whose internals hooks cannot see (TorchScript, native RNN internals).</summary>
    public static readonly FindingCode OpaqueModule = new("TD1007", "opaque-module", Severity.Info,
        "A module's children cannot be observed one by one (TorchScript or native code runs them).", RemedyKind.None);

    /// <summary>A parameter that needs gradients received none although the module ran.</summary>
    public static readonly FindingCode NoGradient = new("TD1008", "no-gradient", Severity.Warning,
        "A trainable parameter received no gradient from the output although its module ran.", RemedyKind.ReconnectGradient);
}
