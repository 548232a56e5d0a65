using System.Collections.Immutable;
using Microsoft.CodeAnalysis;

namespace TorchDoctor.Analyzers
{
    /// <summary>
    /// The rules' descriptors: id, slug (the title), default severity and help link into docs/findings.md.
    /// Severities can be changed per project in .editorconfig (<c>dotnet_diagnostic.TD5001.severity = error</c>).
    /// </summary>
    public static class Rules
    {
        /// <summary>Where the help links point: the findings catalogue; each id has an anchor there.</summary>
        public const string HelpBase = "docs/findings.md";

        private const string Category = "TorchSharp";

        private static DiagnosticDescriptor Rule(string id, string slug, DiagnosticSeverity severity, string message, string description)
            => new DiagnosticDescriptor(id, slug, message, Category, severity, isEnabledByDefault: true, description: description,
                helpLinkUri: HelpBase + "#" + id.ToLowerInvariant() + "-" + slug);

        /// <summary>TD1001: <c>child.forward(x)</c> in a module bypasses the child's hooks.</summary>
        public static readonly DiagnosticDescriptor HookBypassed = Rule(DiagnosticIds.HookBypassed, "hook-bypassed", DiagnosticSeverity.Warning,
            "'{0}.forward(...)' bypasses the forward hooks of '{0}': only call(...) runs them. Fix: {0}.call(...)",
            "In TorchSharp forward hooks fire only when a module is invoked through call(...). A parent that calls child.forward(x) hides the child from summaries, probes, timers and any hook.");

        /// <summary>TD1003: literal layer sizes that cannot chain.</summary>
        public static readonly DiagnosticDescriptor ShapeMismatch = Rule(DiagnosticIds.ShapeMismatch, "shape-mismatch", DiagnosticSeverity.Error,
            "{0} expects {1} {2} but the layer before it, {3}, produces {4}: the forward pass will throw. Fix: {5}",
            "Two layers applied one after the other have literal sizes that cannot fit: the output features/channels of the first differ from the input features/channels of the second.");

        /// <summary>TD5001: module fields never registered.</summary>
        public static readonly DiagnosticDescriptor MissingRegisterComponents = Rule(DiagnosticIds.MissingRegisterComponents, "missing-register-components", DiagnosticSeverity.Warning,
            "{0} Fix: {1}",
            "A Module subclass's fields that hold modules or parameters are only registered by RegisterComponents() (or register_module/register_parameter). Unregistered, they are missing from parameters(), state_dict(), to(device) and the optimizer: they never train and are never saved.");

        /// <summary>TD5002: submodules in arrays, lists or dictionaries.</summary>
        public static readonly DiagnosticDescriptor ModuleCollection = Rule(DiagnosticIds.ModuleCollection, "module-collection-not-registered", DiagnosticSeverity.Warning,
            "Field '{0}' holds {1} in a {2}: RegisterComponents() does not look inside it, so they are never registered (never trained, moved or saved). Fix: {3}",
            "RegisterComponents registers fields whose value is a Module, Parameter or Tensor; modules held in arrays, List<T> or Dictionary<K,V> are skipped (TorchSharp #532). Use ModuleList/ModuleDict (ParameterList/ParameterDict), or register each element.");

        /// <summary>TD5003: probabilities into a loss that expects logits.</summary>
        public static readonly DiagnosticDescriptor ProbabilitiesIntoLogitsLoss = Rule(DiagnosticIds.ProbabilitiesIntoLogitsLoss, "probabilities-into-logits-loss", DiagnosticSeverity.Warning,
            "{0} receives the output of {1}, but it applies {2} itself: the model's outputs are squashed twice, gradients shrink and training stalls. Fix: {3}",
            "cross_entropy applies log_softmax to its input and binary_cross_entropy_with_logits applies sigmoid: they expect raw scores (logits). Passing softmax/sigmoid outputs trains against a flattened target.");

        /// <summary>TD5004: backward() and step() in a loop without zero_grad().</summary>
        public static readonly DiagnosticDescriptor MissingZeroGrad = Rule(DiagnosticIds.MissingZeroGrad, "missing-zero-grad", DiagnosticSeverity.Warning,
            "This loop calls backward() and {0}.step() but never zero_grad(): gradients add up across iterations, so every step uses the sum of all past gradients. Fix: call {0}.zero_grad() before backward() in the loop",
            "TorchSharp, like PyTorch, accumulates gradients into .grad on every backward(). Without zero_grad() each step applies the running sum of all earlier gradients.");

        /// <summary>TD5005: a tensor accumulated across loop iterations.</summary>
        public static readonly DiagnosticDescriptor TensorAccumulated = Rule(DiagnosticIds.TensorAccumulated, "tensor-accumulated-in-loop", DiagnosticSeverity.Warning,
            "'{0}' keeps the loss tensor '{1}' of every iteration{2}: each one holds its autograd graph alive, so memory grows with every step. Fix: {3}",
            "A loss tensor added to a running total or a list outside the loop keeps its whole autograd graph (activations included) alive; memory grows until the process fails. A number (loss.item<float>()) was meant.");

        /// <summary>TD5006: tensors created in a training loop with no dispose scope (information).</summary>
        public static readonly DiagnosticDescriptor NoDisposeScope = Rule(DiagnosticIds.NoDisposeScope, "no-dispose-scope-in-loop", DiagnosticSeverity.Info,
            "This training loop creates tensors on every iteration with no dispose scope in or around it: native memory is freed only when the garbage collector runs, so it can grow far beyond the model's needs. Fix: {0}",
            "TorchSharp tensors hold native memory that the .NET garbage collector does not see. A torch.NewDisposeScope() per iteration frees each iteration's temporaries deterministically.");

        /// <summary>TD5007: matmul on a TorchSharp version that aborts on mismatched shapes (information).</summary>
        public static readonly DiagnosticDescriptor MatmulAborts = Rule(DiagnosticIds.MatmulAborts, "matmul-aborts-on-mismatch", DiagnosticSeverity.Info,
            "In TorchSharp {0} matmul with mismatched shapes aborts the whole process (no exception to catch). Fix: {1}",
            "TorchSharp 0.107's Tensor.matmul/torch.matmul do not turn libtorch's shape error into an exception: the process ends with 'terminate called after throwing an instance of c10::Error' (exit 134). torch.mm, torch.bmm and Linear throw a catchable exception.");

        /// <summary>Every descriptor, in id order.</summary>
        public static ImmutableArray<DiagnosticDescriptor> All { get; } = ImmutableArray.Create(
            HookBypassed, ShapeMismatch, MissingRegisterComponents, ModuleCollection, ProbabilitiesIntoLogitsLoss,
            MissingZeroGrad, TensorAccumulated, NoDisposeScope, MatmulAborts);
    }
}
