namespace TorchDoctor.Findings;

/// <summary>
/// The finding catalogue, range TD4xxx: porting checks (a C# model against its PyTorch original: printed
/// structure, state_dict, numbers). docs/findings.md documents each code.
/// </summary>
public static class PortingCodes
{
    /// <summary>A module of the PyTorch model has no counterpart in the port.</summary>
    public static readonly FindingCode ModuleMissing = new("TD4001", "module-missing", Severity.Error,
        "A module of the PyTorch model (from its printed text) has no counterpart in the port, and that changes the computation.", RemedyKind.FixPort);

    /// <summary>The port has a module the PyTorch model lacks.</summary>
    public static readonly FindingCode ModuleExtra = new("TD4002", "module-extra", Severity.Error,
        "The port has a module the PyTorch model lacks, and that changes the computation.", RemedyKind.FixPort);

    /// <summary>A module's counterpart has another type.</summary>
    public static readonly FindingCode ModuleTypeDiffers = new("TD4003", "module-type-differs", Severity.Error,
        "A module's counterpart in the port has another layer type.", RemedyKind.FixPort);

    /// <summary>A layer's counterpart has another value for an argument.</summary>
    public static readonly FindingCode ArgumentDiffers = new("TD4004", "argument-differs", Severity.Error,
        "A layer's counterpart in the port has another value for an argument (padding, eps, ceil_mode, bias...).", RemedyKind.FixPort);

    /// <summary>The children of a Sequential run in another order.</summary>
    public static readonly FindingCode ChildrenOrderDiffers = new("TD4005", "children-order-differs", Severity.Error,
        "The children of a Sequential are registered (and so run) in another order in the port.", RemedyKind.FixPort);

    /// <summary>Structural differences that do not change the computation.</summary>
    public static readonly FindingCode HarmlessDifferences = new("TD4006", "harmless-structure-differences", Severity.Info,
        "The port differs from the PyTorch model in ways that do not change the computation (renamed or split parameter-free modules, a Flatten module, container classes, registration order).", RemedyKind.None);

    /// <summary>Arguments that could not be compared.</summary>
    public static readonly FindingCode Unverified = new("TD4007", "arguments-not-compared", Severity.Info,
        "Some arguments in PyTorch's text cannot be compared because TorchSharp does not expose them, or a layer type is unknown to TorchDoctor.", RemedyKind.None);

    /// <summary>Model keys absent from the checkpoint.</summary>
    public static readonly FindingCode MissingKeys = new("TD4008", "missing-keys", Severity.Error,
        "The model has state_dict keys that the PyTorch checkpoint lacks (PyTorch's missing_keys).", RemedyKind.FixWeights);

    /// <summary>Checkpoint keys absent from the model.</summary>
    public static readonly FindingCode UnexpectedKeys = new("TD4009", "unexpected-keys", Severity.Error,
        "The PyTorch checkpoint has keys that the model lacks (PyTorch's unexpected_keys).", RemedyKind.FixWeights);

    /// <summary>Same key, another shape.</summary>
    public static readonly FindingCode ShapeMismatch = new("TD4010", "state-dict-shape-mismatch", Severity.Error,
        "A checkpoint tensor and the model's tensor of the same key have different shapes.", RemedyKind.FixWeights);

    /// <summary>Same key and shape, another dtype.</summary>
    public static readonly FindingCode DTypeMismatch = new("TD4011", "state-dict-dtype-mismatch", Severity.Warning,
        "A checkpoint tensor has another dtype than the model's; loading converts it silently.", RemedyKind.FixWeights);

    /// <summary>A suggested renaming of checkpoint keys.</summary>
    public static readonly FindingCode KeyMapping = new("TD4012", "key-mapping-suggested", Severity.Info,
        "Unexpected checkpoint keys pair up with missing model keys of the same shapes in the same order: a renamed module; the code to rename them is given.", RemedyKind.FixWeights);

    /// <summary>Weights were loaded from the checkpoint.</summary>
    public static readonly FindingCode WeightsLoaded = new("TD4013", "weights-loaded", Severity.Info,
        "The checkpoint's tensors were copied into the model (all of them, or those that match by name and shape).", RemedyKind.None);

    /// <summary>The outputs differ beyond tolerance.</summary>
    public static readonly FindingCode OutputMismatch = new("TD4014", "output-mismatch", Severity.Error,
        "The port's output on the reference input differs from PyTorch's beyond the tolerance (or has another shape).", RemedyKind.FixPort);

    /// <summary>The first layer whose output diverges.</summary>
    public static readonly FindingCode FirstDivergentLayer = new("TD4015", "first-divergent-layer", Severity.Error,
        "The first layer, in execution order, whose output differs from PyTorch's intermediate output beyond the tolerance.", RemedyKind.FixPort);

    /// <summary>Checkpoint tensors that hold NaN or Inf.</summary>
    public static readonly FindingCode NonFiniteWeights = new("TD4016", "checkpoint-non-finite", Severity.Error,
        "Tensors of the PyTorch checkpoint hold NaN or Inf: a model loaded from it cannot produce finite outputs.", RemedyKind.FixWeights);
}
