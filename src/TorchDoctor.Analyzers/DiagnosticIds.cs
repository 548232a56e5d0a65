namespace TorchDoctor.Analyzers
{
    /// <summary>
    /// The diagnostic ids of the TorchDoctor analyzers (shared with the code-fix assembly). They are codes of the
    /// TorchDoctor finding catalogue (docs/findings.md): a rule with a run-time twin uses the twin's code.
    /// </summary>
    public static class DiagnosticIds
    {
        /// <summary><c>child.forward(x)</c> inside a module: hooks bypassed (run-time twin TD1001).</summary>
        public const string HookBypassed = "TD1001";
        /// <summary>Literal layer sizes that cannot chain (run-time twin TD1003, the shape explainer).</summary>
        public const string ShapeMismatch = "TD1003";
        /// <summary>Module fields never registered (no RegisterComponents, or it already ran in the base constructor).</summary>
        public const string MissingRegisterComponents = "TD5001";
        /// <summary>Submodules in arrays, lists or dictionaries instead of ModuleList/ModuleDict.</summary>
        public const string ModuleCollection = "TD5002";
        /// <summary>Probabilities into a loss that expects logits.</summary>
        public const string ProbabilitiesIntoLogitsLoss = "TD5003";
        /// <summary>A loop with backward() and step() but no zero_grad().</summary>
        public const string MissingZeroGrad = "TD5004";
        /// <summary>A tensor accumulated across loop iterations.</summary>
        public const string TensorAccumulated = "TD5005";
        /// <summary>Tensors created in a training loop with no dispose scope.</summary>
        public const string NoDisposeScope = "TD5006";
        /// <summary>matmul with a TorchSharp version that aborts on mismatched shapes.</summary>
        public const string MatmulAborts = "TD5007";

        /// <summary>Diagnostic property: the fix in words and code.</summary>
        public const string FixProperty = "fix";
        /// <summary>Diagnostic property (TD5001): "register" when the fix is register_* calls (base constructor already registered), "add" for RegisterComponents().</summary>
        public const string RegistrationKindProperty = "kind";
        /// <summary>Diagnostic property (TD5001): the unregistered field names, comma-separated, with their kind (module/parameter/buffer) after a colon.</summary>
        public const string FieldsProperty = "fields";
        /// <summary>Diagnostic property (TD1003): the value the flagged size argument should have.</summary>
        public const string ExpectedSizeProperty = "expected";
        /// <summary>Diagnostic property (TD5004): the optimizer expression whose zero_grad() is missing.</summary>
        public const string OptimizerProperty = "optimizer";
    }
}
