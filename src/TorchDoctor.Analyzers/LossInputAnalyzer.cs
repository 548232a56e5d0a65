using System.Collections.Immutable;
using System.Linq;
using Microsoft.CodeAnalysis;
using Microsoft.CodeAnalysis.CSharp;
using Microsoft.CodeAnalysis.CSharp.Syntax;
using Microsoft.CodeAnalysis.Diagnostics;

namespace TorchDoctor.Analyzers
{
    /// <summary>
    /// TD5003: probabilities into a loss that expects logits: <c>cross_entropy</c>/<c>CrossEntropyLoss</c> of a
    /// <c>softmax</c>, <c>binary_cross_entropy_with_logits</c>/<c>BCEWithLogitsLoss</c> of a <c>sigmoid</c>, in the
    /// same expression or through a local assigned once, or from a Sequential whose last layer is Softmax/Sigmoid.
    /// </summary>
    [DiagnosticAnalyzer(LanguageNames.CSharp)]
    public sealed class LossInputAnalyzer : DiagnosticAnalyzer
    {
        /// <inheritdoc />
        public override ImmutableArray<DiagnosticDescriptor> SupportedDiagnostics { get; } = ImmutableArray.Create(Rules.ProbabilitiesIntoLogitsLoss);

        /// <inheritdoc />
        public override void Initialize(AnalysisContext context)
        {
            context.ConfigureGeneratedCodeAnalysis(GeneratedCodeAnalysisFlags.None);
            context.EnableConcurrentExecution();
            context.RegisterCompilationStartAction(start =>
            {
                if (TorchTypes.Create(start.Compilation) is null) return;
                start.RegisterSyntaxNodeAction(Analyze, SyntaxKind.InvocationExpression);
            });
        }

        private static void Analyze(SyntaxNodeAnalysisContext context)
        {
            var inv = (InvocationExpressionSyntax)context.Node;
            var name = TorchTypes.InvokedName(inv);
            if (name != "cross_entropy" && name != "binary_cross_entropy_with_logits" && name != "call" && name != "forward") return;
            if (inv.ArgumentList.Arguments.Count == 0) return;
            var model = context.SemanticModel;
            if (!(model.GetSymbolInfo(inv, context.CancellationToken).Symbol is IMethodSymbol m)) return;
            string? squash = null, loss = null;
            if (TorchTypes.IsTorchSharp(m) && m.Name == "cross_entropy") { squash = "softmax"; loss = "cross_entropy"; }
            else if (TorchTypes.IsTorchSharp(m) && m.Name == "binary_cross_entropy_with_logits") { squash = "sigmoid"; loss = "binary_cross_entropy_with_logits"; }
            else if (name == "call" || name == "forward")
            {
                var receiver = TorchTypes.Receiver(inv);
                var rt = receiver is null ? null : model.GetTypeInfo(receiver, context.CancellationToken).Type;
                if (TorchTypes.IsTorchSharpType(rt) && rt!.Name == "CrossEntropyLoss") { squash = "softmax"; loss = "CrossEntropyLoss"; }
                else if (TorchTypes.IsTorchSharpType(rt) && rt!.Name == "BCEWithLogitsLoss") { squash = "sigmoid"; loss = "BCEWithLogitsLoss"; }
            }
            if (squash is null) return;
            var arg = inv.ArgumentList.Arguments.FirstOrDefault(a => a.NameColon?.Name.Identifier.ValueText == "input") ?? inv.ArgumentList.Arguments[0];
            var source = Producer(arg.Expression, squash, model, context, 0);
            if (source is null) return;
            var applies = squash == "softmax" ? "log_softmax" : "sigmoid";
            var fix = squash == "softmax"
                ? "pass the raw scores (logits) to the loss and drop the softmax; apply softmax only where probabilities are reported"
                : "pass the raw scores (logits) and drop the sigmoid, or keep the sigmoid and use binary_cross_entropy";
            context.ReportDiagnostic(Diagnostic.Create(Rules.ProbabilitiesIntoLogitsLoss, arg.GetLocation(),
                ImmutableDictionary<string, string?>.Empty.Add(DiagnosticIds.FixProperty, fix), loss, source, applies, fix));
        }

        /// <summary>A description of the softmax/sigmoid that produced <paramref name="e"/>, or null.</summary>
        internal static string? Producer(ExpressionSyntax e, string squash, SemanticModel model, SyntaxNodeAnalysisContext context, int depth)
        {
            if (depth > 4) return null;
            while (e is ParenthesizedExpressionSyntax p) e = p.Expression;
            if (e is InvocationExpressionSyntax inv)
            {
                var symbol = model.GetSymbolInfo(inv, context.CancellationToken).Symbol as IMethodSymbol;
                if (symbol is null || !TorchTypes.IsTorchSharp(symbol) && !(TorchTypes.InvokedName(inv) is "call" || TorchTypes.InvokedName(inv) is "forward")) return null;
                if (symbol.Name == squash || squash == "sigmoid" && symbol.Name == "expit") return inv.Expression.ToString() + "(...)";
                if (symbol.Name == "call" || symbol.Name == "forward")
                {
                    var receiver = TorchTypes.Receiver(inv);
                    if (receiver is null) return null;
                    var rt = model.GetTypeInfo(receiver, context.CancellationToken).Type;
                    if (TorchTypes.IsTorchSharpType(rt) && string.Equals(rt!.Name, squash, System.StringComparison.OrdinalIgnoreCase)) return receiver + " (a " + rt.Name + " module)";
                    if (TorchTypes.IsTorchSharpType(rt) && rt!.Name == "Sequential")
                    {
                        var init = SingleValue(receiver, model, context);
                        if (init is InvocationExpressionSyntax seq && seq.ArgumentList.Arguments.Count > 0)
                        {
                            var last = seq.ArgumentList.Arguments.Last().Expression;
                            if (last is TupleExpressionSyntax t && t.Arguments.Count == 2) last = t.Arguments[1].Expression;
                            var lt = model.GetTypeInfo(last, context.CancellationToken).Type;
                            if (TorchTypes.IsTorchSharpType(lt) && string.Equals(lt!.Name, squash, System.StringComparison.OrdinalIgnoreCase))
                                return receiver + " (a Sequential ending in " + lt.Name + ")";
                        }
                    }
                }
                return null;
            }
            if (e is IdentifierNameSyntax id && model.GetSymbolInfo(id, context.CancellationToken).Symbol is ILocalSymbol)
            {
                var value = SingleValue(id, model, context);
                return value is null ? null : Producer(value, squash, model, context, depth + 1);
            }
            return null;
        }

        /// <summary>The one value a local (or a field, through its initializer or a single assignment) ever gets, or null.</summary>
        internal static ExpressionSyntax? SingleValue(ExpressionSyntax e, SemanticModel model, SyntaxNodeAnalysisContext context)
        {
            var symbol = model.GetSymbolInfo(e, context.CancellationToken).Symbol;
            if (!(symbol is ILocalSymbol) && !(symbol is IFieldSymbol) && !(symbol is IPropertySymbol)) return null;
            var decl = symbol.DeclaringSyntaxReferences.FirstOrDefault()?.GetSyntax(context.CancellationToken);
            if (decl is null) return null;
            SyntaxNode scope = symbol is ILocalSymbol ? (SyntaxNode?)decl.FirstAncestorOrSelf<BaseMethodDeclarationSyntax>() ?? decl.FirstAncestorOrSelf<CompilationUnitSyntax>()!
                                                     : decl.FirstAncestorOrSelf<TypeDeclarationSyntax>()!;
            if (scope is null) return null;
            ExpressionSyntax? value = decl is VariableDeclaratorSyntax v ? v.Initializer?.Value
                : decl is PropertyDeclarationSyntax pd ? pd.Initializer?.Value : null;
            int count = value is null ? 0 : 1;
            foreach (var a in scope.DescendantNodes().OfType<AssignmentExpressionSyntax>())
            {
                var left = a.Left is MemberAccessExpressionSyntax ma && ma.Expression is ThisExpressionSyntax ? ma.Name : a.Left;
                if (!(left is IdentifierNameSyntax lid) || lid.Identifier.ValueText != symbol.Name) continue;
                if (!SymbolEqualityComparer.Default.Equals(model.SyntaxTree == a.SyntaxTree ? model.GetSymbolInfo(left, context.CancellationToken).Symbol : symbol, symbol)) continue;
                value = a.Right; count++;
            }
            return count == 1 ? value : null;
        }
    }
}
