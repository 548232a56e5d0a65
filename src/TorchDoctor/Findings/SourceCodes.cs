namespace TorchDoctor.Findings;

/// <summary>
/// The finding catalogue, range TD5xxx: mistakes visible in source code, found by the TorchDoctor.Analyzers package
/// (in the build and the IDE) and <c>torchdoctor lint</c>. Rules with a run-time twin use the twin's code instead
/// (TD1001 for <c>child.forward(x)</c>, TD1003 for layer sizes that cannot chain). The analyzer assembly keeps its
/// own copy of the codes and slugs (it cannot reference this library); a test keeps the two in step.
/// </summary>
public static class SourceCodes
{
    /// <summary>Module or parameter fields that are never registered.</summary>
    public static readonly FindingCode MissingRegisterComponents = new("TD5001", "missing-register-components", Severity.Warning,
        "A module class's fields holding layers or parameters are never registered: no RegisterComponents() in the constructor, fields assigned after it, or a base constructor already ran it (TorchSharp #1485).");

    /// <summary>Submodules kept in arrays, lists or dictionaries.</summary>
    public static readonly FindingCode ModuleCollection = new("TD5002", "module-collection-not-registered", Severity.Warning,
        "Submodules or parameters held in an array, List<T> or Dictionary<K,V> field instead of ModuleList/ModuleDict/ParameterList: never registered (TorchSharp #532).");

    /// <summary>Probabilities passed to a loss that expects logits.</summary>
    public static readonly FindingCode ProbabilitiesIntoLogitsLoss = new("TD5003", "probabilities-into-logits-loss", Severity.Warning,
        "cross_entropy of a softmax, or binary_cross_entropy_with_logits of a sigmoid: the loss squashes its input again.");

    /// <summary>A loop with backward() and step() but no zero_grad().</summary>
    public static readonly FindingCode MissingZeroGrad = new("TD5004", "missing-zero-grad", Severity.Warning,
        "A loop calls backward() and an optimizer's step() but never zero_grad(): gradients add up across iterations.");

    /// <summary>A loss tensor kept across loop iterations.</summary>
    public static readonly FindingCode TensorAccumulated = new("TD5005", "tensor-accumulated-in-loop", Severity.Warning,
        "The loss tensor is added to a running total or a list that outlives the iteration, keeping every step's autograd graph alive.");

    /// <summary>A training loop with no dispose scope.</summary>
    public static readonly FindingCode NoDisposeScope = new("TD5006", "no-dispose-scope-in-loop", Severity.Info,
        "A training loop creates tensors on every iteration with no torch.NewDisposeScope() in or around it.");

    /// <summary>matmul on a TorchSharp version that aborts on mismatched shapes.</summary>
    public static readonly FindingCode MatmulAborts = new("TD5007", "matmul-aborts-on-mismatch", Severity.Info,
        "Tensor.matmul/torch.matmul on a TorchSharp version measured to abort the process on mismatched shapes (0.107).");
}
