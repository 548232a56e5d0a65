using System.Collections.Immutable;
using System.Linq;
using Microsoft.CodeAnalysis;
using Microsoft.CodeAnalysis.CSharp;
using Microsoft.CodeAnalysis.CSharp.Syntax;
using Microsoft.CodeAnalysis.Diagnostics;

namespace TorchDoctor.Analyzers
{
    /// <summary>
    /// TD1001, the static twin of the run-time hook-bypass finding: inside a Module subclass,
    /// <c>child.forward(x)</c> on one of its own children (a field or property, an element of one, or a loop variable
    /// over one) runs the child without its hooks. <c>base.forward</c> and <c>this.forward</c> are not flagged, nor
    /// <c>forward</c> methods that do not override TorchSharp's <c>Module&lt;...&gt;.forward</c> (they have no
    /// <c>call</c>).
    /// </summary>
    [DiagnosticAnalyzer(LanguageNames.CSharp)]
    public sealed class HookBypassAnalyzer : DiagnosticAnalyzer
    {
        /// <inheritdoc />
        public override ImmutableArray<DiagnosticDescriptor> SupportedDiagnostics { get; } = ImmutableArray.Create(Rules.HookBypassed);

        /// <inheritdoc />
        public override void Initialize(AnalysisContext context)
        {
            context.ConfigureGeneratedCodeAnalysis(GeneratedCodeAnalysisFlags.None);
            context.EnableConcurrentExecution();
            context.RegisterCompilationStartAction(start =>
            {
                var types = TorchTypes.Create(start.Compilation);
                if (types is null) return;
                start.RegisterSyntaxNodeAction(c => Analyze(c, types), SyntaxKind.InvocationExpression);
            });
        }

        private static void Analyze(SyntaxNodeAnalysisContext context, TorchTypes types)
        {
            var inv = (InvocationExpressionSyntax)context.Node;
            if (!(inv.Expression is MemberAccessExpressionSyntax ma) || ma.Name.Identifier.ValueText != "forward") return;
            if (ma.Expression is ThisExpressionSyntax || ma.Expression is BaseExpressionSyntax) return;
            var containing = context.ContainingSymbol?.ContainingType;
            if (containing is null || !types.IsModule(containing)) return;
            if (!(context.SemanticModel.GetSymbolInfo(inv, context.CancellationToken).Symbol is IMethodSymbol method)) return;
            if (!OverridesTorchForward(method)) return;
            if (!types.IsModule(context.SemanticModel.GetTypeInfo(ma.Expression, context.CancellationToken).Type)) return;
            if (!IsOwnChild(ma.Expression, context.SemanticModel, containing, context)) return;
            var text = ma.Expression.ToString();
            context.ReportDiagnostic(Diagnostic.Create(Rules.HookBypassed, ma.Name.GetLocation(),
                ImmutableDictionary<string, string?>.Empty.Add(DiagnosticIds.FixProperty, text + ".call(...)"), text));
        }

        /// <summary>True when <paramref name="m"/> is, or overrides, TorchSharp's Module&lt;...&gt;.forward (so call(...) exists).</summary>
        internal static bool OverridesTorchForward(IMethodSymbol m)
        {
            for (var x = m; x != null; x = x.OverriddenMethod)
                if (TorchTypes.IsTorchSharp(x) && x.ContainingType.Name == "Module" && x.ContainingType.Arity >= 2) return true;
            return false;
        }

        private static bool IsOwnChild(ExpressionSyntax e, SemanticModel model, INamedTypeSymbol owner, SyntaxNodeAnalysisContext context)
        {
            while (true)
            {
                switch (e)
                {
                    case ParenthesizedExpressionSyntax p: e = p.Expression; continue;
                    case CastExpressionSyntax c: e = c.Expression; continue;
                    case ElementAccessExpressionSyntax ea: e = ea.Expression; continue;
                    case PostfixUnaryExpressionSyntax pu when pu.IsKind(SyntaxKind.SuppressNullableWarningExpression): e = pu.Operand; continue;
                    case BinaryExpressionSyntax b when b.IsKind(SyntaxKind.AsExpression): e = b.Left; continue;
                }
                break;
            }
            var symbol = model.GetSymbolInfo(e, context.CancellationToken).Symbol;
            if (symbol is IFieldSymbol || symbol is IPropertySymbol)
            {
                if (symbol.IsStatic) return false;
                if (e is MemberAccessExpressionSyntax ma && !(ma.Expression is ThisExpressionSyntax)) return false;
                return TorchTypes.DerivesFrom(owner, symbol.ContainingType);
            }
            if (symbol is ILocalSymbol local)
            {
                var decl = local.DeclaringSyntaxReferences.FirstOrDefault()?.GetSyntax(context.CancellationToken);
                if (decl is ForEachStatementSyntax fe) return IsOwnChild(fe.Expression, model, owner, context);
                if (decl is VariableDeclaratorSyntax v && v.Initializer != null && local.DeclaringSyntaxReferences.Length == 1)
                    return IsOwnChild(v.Initializer.Value, model, owner, context);
            }
            return false;
        }
    }
}
