using System.Collections.Generic;
using System.Collections.Immutable;
using System.Composition;
using System.Linq;
using System.Threading;
using System.Threading.Tasks;
using Microsoft.CodeAnalysis;
using Microsoft.CodeAnalysis.CodeActions;
using Microsoft.CodeAnalysis.CodeFixes;
using Microsoft.CodeAnalysis.CSharp;
using Microsoft.CodeAnalysis.CSharp.Syntax;
using Microsoft.CodeAnalysis.Formatting;
using Microsoft.CodeAnalysis.Simplification;

namespace TorchDoctor.Analyzers
{
    /// <summary>Shared plumbing: find the node of a diagnostic, replace it.</summary>
    public abstract class TorchDoctorCodeFix : CodeFixProvider
    {
        /// <inheritdoc />
        public sealed override FixAllProvider GetFixAllProvider() => WellKnownFixAllProviders.BatchFixer;

        /// <summary>Registers one code action per diagnostic.</summary>
        public sealed override async Task RegisterCodeFixesAsync(CodeFixContext context)
        {
            var root = await context.Document.GetSyntaxRootAsync(context.CancellationToken).ConfigureAwait(false);
            if (root is null) return;
            foreach (var diagnostic in context.Diagnostics)
            {
                var node = root.FindNode(diagnostic.Location.SourceSpan, getInnermostNodeForTie: false);
                var title = Title(node, diagnostic);
                if (title is null) continue;
                context.RegisterCodeFix(CodeAction.Create(title,
                    ct => Fix(context.Document, root, node, diagnostic, ct), equivalenceKey: GetType().Name), diagnostic);
            }
        }

        /// <summary>The action's title, or null when no safe fix exists for this occurrence.</summary>
        protected abstract string? Title(SyntaxNode node, Diagnostic diagnostic);

        /// <summary>The fixed document.</summary>
        protected abstract Task<Document> Fix(Document document, SyntaxNode root, SyntaxNode node, Diagnostic diagnostic, CancellationToken ct);

        /// <summary>A statement parsed from text, formatted where it is inserted.</summary>
        protected static StatementSyntax Statement(string text) => SyntaxFactory.ParseStatement(text).WithAdditionalAnnotations(Formatter.Annotation);
    }

    /// <summary>TD1001: <c>child.forward(x)</c> → <c>child.call(x)</c>.</summary>
    [ExportCodeFixProvider(LanguageNames.CSharp, Name = nameof(HookBypassCodeFix)), Shared]
    public sealed class HookBypassCodeFix : TorchDoctorCodeFix
    {
        /// <inheritdoc />
        public override ImmutableArray<string> FixableDiagnosticIds => ImmutableArray.Create(DiagnosticIds.HookBypassed);

        /// <inheritdoc />
        protected override string? Title(SyntaxNode node, Diagnostic diagnostic) => node is SimpleNameSyntax ? "Use call(...) so that hooks run" : null;

        /// <inheritdoc />
        protected override Task<Document> Fix(Document document, SyntaxNode root, SyntaxNode node, Diagnostic diagnostic, CancellationToken ct)
        {
            var name = (SimpleNameSyntax)node;
            var call = SyntaxFactory.IdentifierName("call").WithTriviaFrom(name);
            return Task.FromResult(document.WithSyntaxRoot(root.ReplaceNode(name, call)));
        }
    }

    /// <summary>TD1003: set the flagged size argument to what the previous layer produces.</summary>
    [ExportCodeFixProvider(LanguageNames.CSharp, Name = nameof(LayerSizeCodeFix)), Shared]
    public sealed class LayerSizeCodeFix : TorchDoctorCodeFix
    {
        /// <inheritdoc />
        public override ImmutableArray<string> FixableDiagnosticIds => ImmutableArray.Create(DiagnosticIds.ShapeMismatch);

        /// <inheritdoc />
        protected override string? Title(SyntaxNode node, Diagnostic diagnostic)
            => node is ArgumentSyntax a && a.Expression is LiteralExpressionSyntax && diagnostic.Properties.TryGetValue(DiagnosticIds.ExpectedSizeProperty, out var v) && v != null
                ? $"Set it to {v} (what the layer before produces)" : null;

        /// <inheritdoc />
        protected override Task<Document> Fix(Document document, SyntaxNode root, SyntaxNode node, Diagnostic diagnostic, CancellationToken ct)
        {
            var arg = (ArgumentSyntax)node;
            var value = long.Parse(diagnostic.Properties[DiagnosticIds.ExpectedSizeProperty]!, System.Globalization.CultureInfo.InvariantCulture);
            var token = value >= int.MinValue && value <= int.MaxValue ? SyntaxFactory.Literal((int)value) : SyntaxFactory.Literal(value);
            var literal = SyntaxFactory.LiteralExpression(SyntaxKind.NumericLiteralExpression, token).WithTriviaFrom(arg.Expression);
            return Task.FromResult(document.WithSyntaxRoot(root.ReplaceNode(arg.Expression, literal)));
        }
    }

    /// <summary>TD5001: add RegisterComponents() at the end of the constructor, move it there, or register the subclass's fields by hand (#1485).</summary>
    [ExportCodeFixProvider(LanguageNames.CSharp, Name = nameof(RegisterComponentsCodeFix)), Shared]
    public sealed class RegisterComponentsCodeFix : TorchDoctorCodeFix
    {
        /// <inheritdoc />
        public override ImmutableArray<string> FixableDiagnosticIds => ImmutableArray.Create(DiagnosticIds.MissingRegisterComponents);

        private static ConstructorDeclarationSyntax? Constructor(SyntaxNode node)
            => node as ConstructorDeclarationSyntax ?? node.FirstAncestorOrSelf<ConstructorDeclarationSyntax>();

        /// <inheritdoc />
        protected override string? Title(SyntaxNode node, Diagnostic diagnostic)
        {
            var ctor = Constructor(node);
            if (ctor?.Body is null || !diagnostic.Properties.TryGetValue(DiagnosticIds.RegistrationKindProperty, out var kind)) return null;
            return kind switch
            {
                "add" => "Call RegisterComponents() at the end of the constructor",
                "move" => "Move RegisterComponents() to the end of the constructor",
                "register" => "Register the fields with register_module/register_parameter",
                _ => null,
            };
        }

        /// <inheritdoc />
        protected override Task<Document> Fix(Document document, SyntaxNode root, SyntaxNode node, Diagnostic diagnostic, CancellationToken ct)
        {
            var ctor = Constructor(node)!;
            var body = ctor.Body!;
            var kind = diagnostic.Properties[DiagnosticIds.RegistrationKindProperty];
            BlockSyntax fixedBody;
            if (kind == "register")
            {
                var fields = (diagnostic.Properties[DiagnosticIds.FieldsProperty] ?? "").Split(new[] { ',' }, System.StringSplitOptions.RemoveEmptyEntries);
                fixedBody = body.AddStatements(fields.Select(f =>
                {
                    var parts = f.Split(':');
                    return Statement($"register_{parts[1]}(\"{parts[0]}\", {parts[0]});");
                }).ToArray());
            }
            else
            {
                var kept = kind == "move"
                    ? body.Statements.Where(s => !(s is ExpressionStatementSyntax es && es.Expression is InvocationExpressionSyntax inv && IsRegisterComponents(inv)))
                    : body.Statements;
                fixedBody = body.WithStatements(SyntaxFactory.List(kept.Concat(new[] { Statement("RegisterComponents();") })));
            }
            return Task.FromResult(document.WithSyntaxRoot(root.ReplaceNode(body, fixedBody)));
        }

        private static bool IsRegisterComponents(InvocationExpressionSyntax inv)
            => inv.Expression is IdentifierNameSyntax id && id.Identifier.ValueText == "RegisterComponents"
               || inv.Expression is MemberAccessExpressionSyntax ma && ma.Name.Identifier.ValueText == "RegisterComponents";
    }

    /// <summary>TD5002: a <c>List&lt;T&gt;</c> field created empty becomes a <c>ModuleList&lt;T&gt;</c>.</summary>
    [ExportCodeFixProvider(LanguageNames.CSharp, Name = nameof(ModuleCollectionCodeFix)), Shared]
    public sealed class ModuleCollectionCodeFix : TorchDoctorCodeFix
    {
        /// <inheritdoc />
        public override ImmutableArray<string> FixableDiagnosticIds => ImmutableArray.Create(DiagnosticIds.ModuleCollection);

        /// <inheritdoc />
        protected override string? Title(SyntaxNode node, Diagnostic diagnostic)
        {
            if (!(node is VariableDeclaratorSyntax v) || !(v.Parent is VariableDeclarationSyntax decl) || decl.Variables.Count != 1) return null;
            if (!(decl.Type is GenericNameSyntax g) || g.Identifier.ValueText != "List" || g.TypeArgumentList.Arguments.Count != 1) return null;
            // Only when every value the field gets is a new, empty list (then ModuleList's Add/indexer/Count serve the same code).
            var type = v.FirstAncestorOrSelf<TypeDeclarationSyntax>();
            if (type is null) return null;
            var values = Assignments(type, v.Identifier.ValueText).ToList();
            if (v.Initializer != null) values.Add(v.Initializer.Value);
            return values.Count > 0 && values.All(IsNewEmptyList) ? $"Declare '{v.Identifier.ValueText}' as a ModuleList" : null;
        }

        private static IEnumerable<ExpressionSyntax> Assignments(TypeDeclarationSyntax type, string name)
            => type.DescendantNodes().OfType<AssignmentExpressionSyntax>()
                .Where(a => (a.Left is IdentifierNameSyntax id && id.Identifier.ValueText == name)
                            || (a.Left is MemberAccessExpressionSyntax ma && ma.Expression is ThisExpressionSyntax && ma.Name.Identifier.ValueText == name))
                .Select(a => a.Right);

        private static bool IsNewEmptyList(ExpressionSyntax e)
            => e is ImplicitObjectCreationExpressionSyntax io && io.ArgumentList.Arguments.Count == 0 && io.Initializer is null
               || e is ObjectCreationExpressionSyntax oc && oc.Type is GenericNameSyntax g && g.Identifier.ValueText == "List"
                  && (oc.ArgumentList is null || oc.ArgumentList.Arguments.Count == 0) && oc.Initializer is null;

        /// <inheritdoc />
        protected override Task<Document> Fix(Document document, SyntaxNode root, SyntaxNode node, Diagnostic diagnostic, CancellationToken ct)
        {
            var v = (VariableDeclaratorSyntax)node;
            var decl = (VariableDeclarationSyntax)v.Parent!;
            var element = ((GenericNameSyntax)decl.Type).TypeArgumentList.Arguments[0];
            TypeSyntax ModuleList() => SyntaxFactory.ParseTypeName($"TorchSharp.Modules.ModuleList<{element}>").WithAdditionalAnnotations(Simplifier.Annotation);
            var type = v.FirstAncestorOrSelf<TypeDeclarationSyntax>()!;
            var creations = Assignments(type, v.Identifier.ValueText).OfType<ObjectCreationExpressionSyntax>().ToList();
            if (v.Initializer?.Value is ObjectCreationExpressionSyntax init) creations.Add(init);
            var newRoot = root.ReplaceNodes(creations.Cast<SyntaxNode>().Append(decl.Type), (original, rewritten) =>
                original == decl.Type ? ModuleList().WithTriviaFrom(decl.Type)
                : ((ObjectCreationExpressionSyntax)rewritten).WithType(ModuleList()).WithArgumentList(SyntaxFactory.ArgumentList()));
            return Task.FromResult(document.WithSyntaxRoot(newRoot));
        }
    }

    /// <summary>TD5003: drop the softmax/sigmoid in front of the loss (same expression only).</summary>
    [ExportCodeFixProvider(LanguageNames.CSharp, Name = nameof(LossInputCodeFix)), Shared]
    public sealed class LossInputCodeFix : TorchDoctorCodeFix
    {
        /// <inheritdoc />
        public override ImmutableArray<string> FixableDiagnosticIds => ImmutableArray.Create(DiagnosticIds.ProbabilitiesIntoLogitsLoss);

        private static ExpressionSyntax? Logits(SyntaxNode node)
        {
            if (!(node is ArgumentSyntax arg) || !(arg.Expression is InvocationExpressionSyntax inv)) return null;
            var name = inv.Expression is MemberAccessExpressionSyntax ma ? ma.Name.Identifier.ValueText : (inv.Expression as IdentifierNameSyntax)?.Identifier.ValueText;
            if (name == "softmax" || name == "sigmoid" || name == "expit")
            {
                // torch.softmax(x, 1), functional.sigmoid(x): the first argument; x.softmax(1), x.sigmoid(): the receiver.
                if (inv.ArgumentList.Arguments.Count > 0 && (name != "softmax" || inv.ArgumentList.Arguments.Count >= 2)) return inv.ArgumentList.Arguments[0].Expression;
                return (inv.Expression as MemberAccessExpressionSyntax)?.Expression;
            }
            if ((name == "call" || name == "forward") && inv.ArgumentList.Arguments.Count == 1) return inv.ArgumentList.Arguments[0].Expression;
            return null;
        }

        /// <inheritdoc />
        protected override string? Title(SyntaxNode node, Diagnostic diagnostic) => Logits(node) is null ? null : "Pass the logits to the loss";

        /// <inheritdoc />
        protected override Task<Document> Fix(Document document, SyntaxNode root, SyntaxNode node, Diagnostic diagnostic, CancellationToken ct)
        {
            var arg = (ArgumentSyntax)node;
            return Task.FromResult(document.WithSyntaxRoot(root.ReplaceNode(arg.Expression, Logits(node)!.WithTriviaFrom(arg.Expression))));
        }
    }

    /// <summary>TD5004: call the optimizer's zero_grad() as the loop body's first statement.</summary>
    [ExportCodeFixProvider(LanguageNames.CSharp, Name = nameof(ZeroGradCodeFix)), Shared]
    public sealed class ZeroGradCodeFix : TorchDoctorCodeFix
    {
        /// <inheritdoc />
        public override ImmutableArray<string> FixableDiagnosticIds => ImmutableArray.Create(DiagnosticIds.MissingZeroGrad);

        private static BlockSyntax? Body(SyntaxNode node)
        {
            var loop = node.AncestorsAndSelf().FirstOrDefault(n => n is ForStatementSyntax || n is CommonForEachStatementSyntax || n is WhileStatementSyntax || n is DoStatementSyntax);
            return loop switch
            {
                ForStatementSyntax f => f.Statement as BlockSyntax,
                CommonForEachStatementSyntax f => f.Statement as BlockSyntax,
                WhileStatementSyntax w => w.Statement as BlockSyntax,
                DoStatementSyntax d => d.Statement as BlockSyntax,
                _ => null,
            };
        }

        /// <inheritdoc />
        protected override string? Title(SyntaxNode node, Diagnostic diagnostic)
            => Body(node) != null && diagnostic.Properties.TryGetValue(DiagnosticIds.OptimizerProperty, out var o) && o != null ? $"Call {o}.zero_grad() at the start of each iteration" : null;

        /// <inheritdoc />
        protected override Task<Document> Fix(Document document, SyntaxNode root, SyntaxNode node, Diagnostic diagnostic, CancellationToken ct)
        {
            var body = Body(node)!;
            var statement = Statement($"{diagnostic.Properties[DiagnosticIds.OptimizerProperty]}.zero_grad();");
            if (body.Statements.Count > 0)
                statement = statement.WithLeadingTrivia(body.Statements[0].GetLeadingTrivia()).WithTrailingTrivia(body.Statements[0].GetTrailingTrivia());
            return Task.FromResult(document.WithSyntaxRoot(root.ReplaceNode(body, body.WithStatements(body.Statements.Insert(0, statement)))));
        }
    }
}
