using System.Collections.Generic;
using System.Collections.Immutable;
using System.Linq;
using Microsoft.CodeAnalysis;
using Microsoft.CodeAnalysis.CSharp;
using Microsoft.CodeAnalysis.CSharp.Syntax;
using Microsoft.CodeAnalysis.Diagnostics;

namespace TorchDoctor.Analyzers
{
    /// <summary>
    /// Rules on training loops (a loop whose body calls <c>backward()</c>): TD5004 (backward and an optimizer's
    /// step without zero_grad), TD5005 (the loss tensor kept across iterations in a total or a list), TD5006
    /// (information: no dispose scope in or around the innermost training loop).
    /// </summary>
    [DiagnosticAnalyzer(LanguageNames.CSharp)]
    public sealed class TrainingLoopAnalyzer : DiagnosticAnalyzer
    {
        /// <inheritdoc />
        public override ImmutableArray<DiagnosticDescriptor> SupportedDiagnostics { get; } =
            ImmutableArray.Create(Rules.MissingZeroGrad, Rules.TensorAccumulated, Rules.NoDisposeScope);

        /// <inheritdoc />
        public override void Initialize(AnalysisContext context)
        {
            context.ConfigureGeneratedCodeAnalysis(GeneratedCodeAnalysisFlags.None);
            context.EnableConcurrentExecution();
            context.RegisterCompilationStartAction(start =>
            {
                var types = TorchTypes.Create(start.Compilation);
                if (types is null) return;
                start.RegisterSyntaxNodeAction(c => Analyze(c, types),
                    SyntaxKind.ForStatement, SyntaxKind.ForEachStatement, SyntaxKind.ForEachVariableStatement, SyntaxKind.WhileStatement, SyntaxKind.DoStatement);
            });
        }

        private sealed class LoopFacts
        {
            public readonly List<InvocationExpressionSyntax> Backward = new List<InvocationExpressionSyntax>();
            public readonly List<InvocationExpressionSyntax> Step = new List<InvocationExpressionSyntax>();
            public bool ZeroGrad;
            public bool DisposeScope;
            public bool ManualDispose;
        }

        private static LoopFacts Facts(SyntaxNode loop, SemanticModel model, TorchTypes types, System.Threading.CancellationToken ct)
        {
            var facts = new LoopFacts();
            foreach (var inv in loop.DescendantNodes().OfType<InvocationExpressionSyntax>())
            {
                if (TorchTypes.InNestedFunction(inv, loop)) continue;
                switch (TorchTypes.InvokedName(inv))
                {
                    case "backward":
                        if (model.GetSymbolInfo(inv, ct).Symbol is IMethodSymbol b && TorchTypes.IsTorchSharp(b)) facts.Backward.Add(inv);
                        break;
                    case "step":
                        var r = TorchTypes.Receiver(inv);
                        if (r != null && types.IsOptimizer(model.GetTypeInfo(r, ct).Type)) facts.Step.Add(inv);
                        break;
                    case "zero_grad": facts.ZeroGrad = true; break;
                    case "NewDisposeScope": facts.DisposeScope = true; break;
                    case "Dispose": case "DisposeAll": facts.ManualDispose = true; break;
                }
            }
            return facts;
        }

        private static void Analyze(SyntaxNodeAnalysisContext context, TorchTypes types)
        {
            var loop = context.Node;
            var model = context.SemanticModel;
            var ct = context.CancellationToken;
            var facts = Facts(loop, model, types, ct);
            if (facts.Backward.Count == 0) return;
            var inner = loop.DescendantNodes().Where(n => TorchTypes.IsLoop(n) && !TorchTypes.InNestedFunction(n, loop))
                .Select(n => Facts(n, model, types, ct)).ToList();
            var keyword = TorchTypes.LoopKeyword(loop).GetLocation();

            // TD5004: the innermost loop that has both backward() and an optimizer step.
            if (facts.Step.Count > 0 && !facts.ZeroGrad && !inner.Any(f => f.Backward.Count > 0 && f.Step.Count > 0))
            {
                var optimizer = TorchTypes.Receiver(facts.Step[0])!.ToString();
                var fix = $"call {optimizer}.zero_grad() before backward() in the loop";
                context.ReportDiagnostic(Diagnostic.Create(Rules.MissingZeroGrad, keyword,
                    ImmutableDictionary<string, string?>.Empty.Add(DiagnosticIds.FixProperty, fix).Add(DiagnosticIds.OptimizerProperty, optimizer), optimizer));
            }

            // TD5006: the innermost training loop (backward and an optimizer step), no scope in it or around it, no manual disposal.
            if (facts.Step.Count > 0 && !inner.Any(f => f.Backward.Count > 0 && f.Step.Count > 0) && !facts.DisposeScope && !facts.ManualDispose && !HasScopeAround(loop, model, ct)
                && !HasUsingTensors(loop))
            {
                var fix = "open a scope per iteration: 'using var scope = torch.NewDisposeScope();' as the loop body's first statement (MoveToOuterDisposeScope() what must outlive the iteration)";
                context.ReportDiagnostic(Diagnostic.Create(Rules.NoDisposeScope, keyword,
                    ImmutableDictionary<string, string?>.Empty.Add(DiagnosticIds.FixProperty, fix), fix));
            }

            // TD5005: only in the loop whose own statements call backward (inner loops report their own).
            var losses = new HashSet<ISymbol>(SymbolEqualityComparer.Default);
            foreach (var b in facts.Backward)
            {
                if (NearestLoop(b) != loop) continue;
                var r = TorchTypes.Receiver(b);
                while (r is ParenthesizedExpressionSyntax p) r = p.Expression;
                if (r is IdentifierNameSyntax id && model.GetSymbolInfo(id, ct).Symbol is ILocalSymbol local) losses.Add(local);
            }
            if (losses.Count > 0) ReportAccumulation(context, loop, losses, types);
        }

        private static SyntaxNode? NearestLoop(SyntaxNode n) => n.Ancestors().FirstOrDefault(a => TorchTypes.IsLoop(a) || a is AnonymousFunctionExpressionSyntax || a is LocalFunctionStatementSyntax || a is MemberDeclarationSyntax);

        private static bool HasUsingTensors(SyntaxNode loop)
            => loop.DescendantNodes().OfType<LocalDeclarationStatementSyntax>().Any(d => d.UsingKeyword.IsKind(SyntaxKind.UsingKeyword))
               || loop.DescendantNodes().OfType<UsingStatementSyntax>().Any();

        private static bool HasScopeAround(SyntaxNode loop, SemanticModel model, System.Threading.CancellationToken ct)
        {
            foreach (var a in loop.Ancestors())
            {
                if (a is MemberDeclarationSyntax || a is AnonymousFunctionExpressionSyntax || a is LocalFunctionStatementSyntax) break;
                if (a is UsingStatementSyntax u && u.DescendantNodes().OfType<InvocationExpressionSyntax>().Any(i => TorchTypes.InvokedName(i) == "NewDisposeScope" && !u.Statement.Span.Contains(i.Span)))
                    return true;
                if (a is BlockSyntax block)
                    foreach (var s in block.Statements)
                    {
                        if (s.SpanStart >= loop.SpanStart) break;
                        if (s is LocalDeclarationStatementSyntax || s is ExpressionStatementSyntax)
                            if (s.DescendantNodes().OfType<InvocationExpressionSyntax>().Any(i => TorchTypes.InvokedName(i) == "NewDisposeScope")) return true;
                    }
            }
            return false;
        }

        private static readonly HashSet<string> Detaching = new HashSet<string> { "item", "detach", "detach_", "ToSingle", "ToDouble", "ToScalar", "ToInt64", "ToInt32", "ToBoolean", "data" };

        private static bool MentionsLoss(ExpressionSyntax e, HashSet<ISymbol> losses, SemanticModel model, System.Threading.CancellationToken ct, out string name)
        {
            name = "";
            foreach (var id in e.DescendantNodesAndSelf().OfType<IdentifierNameSyntax>())
            {
                if (!(model.GetSymbolInfo(id, ct).Symbol is ISymbol s) || !losses.Contains(s)) continue;
                if (id.Parent is MemberAccessExpressionSyntax ma && ma.Expression == id && Detaching.Contains(ma.Name.Identifier.ValueText)) continue;
                name = id.Identifier.ValueText;
                return true;
            }
            return false;
        }

        private static bool DeclaredOutside(ISymbol? s, SyntaxNode loop, System.Threading.CancellationToken ct)
        {
            if (s is IFieldSymbol || s is IPropertySymbol) return true;
            if (!(s is ILocalSymbol)) return false;
            var decl = s.DeclaringSyntaxReferences.FirstOrDefault()?.GetSyntax(ct);
            return decl != null && !loop.Span.Contains(decl.Span);
        }

        private static void ReportAccumulation(SyntaxNodeAnalysisContext context, SyntaxNode loop, HashSet<ISymbol> losses, TorchTypes types)
        {
            var model = context.SemanticModel;
            var ct = context.CancellationToken;
            foreach (var node in loop.DescendantNodes())
            {
                if (TorchTypes.InNestedFunction(node, loop)) continue;
                if (node is AssignmentExpressionSyntax a)
                {
                    ExpressionSyntax? added = null;
                    if (a.IsKind(SyntaxKind.AddAssignmentExpression)) added = a.Right;
                    else if (a.IsKind(SyntaxKind.SimpleAssignmentExpression) && a.Right is BinaryExpressionSyntax bin && bin.IsKind(SyntaxKind.AddExpression))
                    {
                        var leftText = a.Left.ToString();
                        if (bin.Left.ToString() == leftText) added = bin.Right;
                        else if (bin.Right.ToString() == leftText) added = bin.Left;
                    }
                    if (added is null) continue;
                    var target = model.GetSymbolInfo(a.Left, ct).Symbol;
                    if (!types.IsTensor(model.GetTypeInfo(a.Left, ct).Type) || !DeclaredOutside(target, loop, ct)) continue;
                    if (!MentionsLoss(added, losses, model, ct, out var loss)) continue;
                    var fix = $"accumulate a number: declare {a.Left} as float and add {loss}.item<float>()";
                    context.ReportDiagnostic(Diagnostic.Create(Rules.TensorAccumulated, a.GetLocation(),
                        ImmutableDictionary<string, string?>.Empty.Add(DiagnosticIds.FixProperty, fix), a.Left.ToString(), loss, " in a running total", fix));
                }
                else if (node is InvocationExpressionSyntax inv && TorchTypes.InvokedName(inv) == "Add" && inv.ArgumentList.Arguments.Count == 1)
                {
                    var receiver = TorchTypes.Receiver(inv);
                    if (receiver is null) continue;
                    var rt = model.GetTypeInfo(receiver, ct).Type as INamedTypeSymbol;
                    if (rt is null || !rt.IsGenericType || !rt.TypeArguments.Any(t => types.IsTensor(t))) continue;
                    if (!DeclaredOutside(model.GetSymbolInfo(receiver, ct).Symbol, loop, ct)) continue;
                    if (!MentionsLoss(inv.ArgumentList.Arguments[0].Expression, losses, model, ct, out var loss)) continue;
                    var fix = $"keep numbers: make {receiver} a List<float> and add {loss}.item<float>()";
                    context.ReportDiagnostic(Diagnostic.Create(Rules.TensorAccumulated, inv.GetLocation(),
                        ImmutableDictionary<string, string?>.Empty.Add(DiagnosticIds.FixProperty, fix), receiver.ToString(), loss, $" in the list '{receiver}'", fix));
                }
            }
        }
    }
}
