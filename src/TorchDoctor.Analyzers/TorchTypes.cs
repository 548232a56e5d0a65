using System;
using System.Linq;
using Microsoft.CodeAnalysis;
using Microsoft.CodeAnalysis.CSharp;
using Microsoft.CodeAnalysis.CSharp.Syntax;

namespace TorchDoctor.Analyzers
{
    /// <summary>The TorchSharp types the rules look for, resolved once per compilation (null when TorchSharp is not referenced).</summary>
    internal sealed class TorchTypes
    {
        public INamedTypeSymbol Module { get; }
        public INamedTypeSymbol Tensor { get; }
        public INamedTypeSymbol? Parameter { get; }
        public INamedTypeSymbol? Optimizer { get; }
        public INamedTypeSymbol? Nn { get; }
        public INamedTypeSymbol? Torch { get; }

        private TorchTypes(Compilation c, INamedTypeSymbol module, INamedTypeSymbol tensor)
        {
            Module = module;
            Tensor = tensor;
            Parameter = c.GetTypeByMetadataName("TorchSharp.Modules.Parameter");
            Optimizer = c.GetTypeByMetadataName("TorchSharp.torch+optim+Optimizer");
            Nn = c.GetTypeByMetadataName("TorchSharp.torch+nn");
            Torch = c.GetTypeByMetadataName("TorchSharp.torch");
        }

        public static TorchTypes? Create(Compilation c)
        {
            var module = c.GetTypeByMetadataName("TorchSharp.torch+nn+Module");
            var tensor = c.GetTypeByMetadataName("TorchSharp.torch+Tensor");
            return module is null || tensor is null ? null : new TorchTypes(c, module, tensor);
        }

        public static bool DerivesFrom(ITypeSymbol? type, INamedTypeSymbol? baseType)
        {
            if (baseType is null) return false;
            for (var t = type; t != null; t = t.BaseType)
                if (SymbolEqualityComparer.Default.Equals(t.OriginalDefinition, baseType)) return true;
            return false;
        }

        public bool IsModule(ITypeSymbol? t) => DerivesFrom(t, Module);
        public bool IsTensor(ITypeSymbol? t) => DerivesFrom(t, Tensor);
        public bool IsParameter(ITypeSymbol? t) => DerivesFrom(t, Parameter);
        public bool IsOptimizer(ITypeSymbol? t) => DerivesFrom(t, Optimizer);

        /// <summary>True for types of the TorchSharp assembly (its own modules, containers).</summary>
        public static bool IsTorchSharpType(ITypeSymbol? t) => t?.ContainingAssembly?.Name == "TorchSharp";

        /// <summary>The TorchSharp container type name (ModuleList, ModuleDict, Sequential, ParameterList, ParameterDict) or null.</summary>
        public static string? ContainerName(ITypeSymbol? t)
        {
            for (var x = t; x != null; x = x.BaseType)
            {
                if (!IsTorchSharpType(x)) continue;
                switch (x.Name)
                {
                    case "ModuleList": case "ModuleDict": case "Sequential": case "ParameterList": case "ParameterDict": return x.Name;
                }
            }
            return null;
        }

        /// <summary>The method's containing type chain as written, e.g. <c>torch.nn.functional</c>.</summary>
        public static string Container(IMethodSymbol m)
        {
            var parts = new System.Collections.Generic.List<string>();
            for (var t = m.ContainingType; t != null; t = t.ContainingType) parts.Insert(0, t.Name);
            return string.Join(".", parts);
        }

        /// <summary>True when <paramref name="m"/> is a TorchSharp method.</summary>
        public static bool IsTorchSharp(IMethodSymbol? m) => m?.ContainingAssembly?.Name == "TorchSharp";

        /// <summary>Name of the invoked member (<c>a.b.forward(x)</c> → forward).</summary>
        public static string? InvokedName(InvocationExpressionSyntax inv) => inv.Expression switch
        {
            MemberAccessExpressionSyntax ma => ma.Name.Identifier.ValueText,
            IdentifierNameSyntax id => id.Identifier.ValueText,
            GenericNameSyntax g => g.Identifier.ValueText,
            MemberBindingExpressionSyntax mb => mb.Name.Identifier.ValueText,
            _ => null,
        };

        /// <summary>The receiver of a member invocation (<c>a.b.forward(x)</c> → <c>a.b</c>), or null.</summary>
        public static ExpressionSyntax? Receiver(InvocationExpressionSyntax inv)
            => inv.Expression is MemberAccessExpressionSyntax ma ? ma.Expression : null;

        /// <summary>True for nodes inside a lambda or local function below <paramref name="root"/> (not executed where they are written).</summary>
        public static bool InNestedFunction(SyntaxNode node, SyntaxNode root)
        {
            for (var n = node.Parent; n != null && n != root; n = n.Parent)
                if (n is AnonymousFunctionExpressionSyntax || n is LocalFunctionStatementSyntax) return true;
            return false;
        }

        public static bool IsLoop(SyntaxNode n) => n is ForStatementSyntax || n is ForEachStatementSyntax || n is WhileStatementSyntax || n is DoStatementSyntax || n is ForEachVariableStatementSyntax;

        public static SyntaxToken LoopKeyword(SyntaxNode loop) => loop switch
        {
            ForStatementSyntax f => f.ForKeyword,
            ForEachStatementSyntax f => f.ForEachKeyword,
            ForEachVariableStatementSyntax f => f.ForEachKeyword,
            WhileStatementSyntax w => w.WhileKeyword,
            DoStatementSyntax d => d.DoKeyword,
            _ => loop.GetFirstToken(),
        };

        public static StatementSyntax? LoopBody(SyntaxNode loop) => loop switch
        {
            ForStatementSyntax f => f.Statement,
            CommonForEachStatementSyntax f => f.Statement,
            WhileStatementSyntax w => w.Statement,
            DoStatementSyntax d => d.Statement,
            _ => null,
        };

        /// <summary>Constant long value of an expression (literals, consts, casts of them), or null.</summary>
        public static long? ConstantLong(SemanticModel model, ExpressionSyntax e)
        {
            var v = model.GetConstantValue(e);
            if (!v.HasValue || v.Value is null) return null;
            try { return v.Value is IConvertible c && !(v.Value is string) && !(v.Value is bool) ? c.ToInt64(System.Globalization.CultureInfo.InvariantCulture) : (long?)null; }
            catch (Exception) { return null; }
        }

        public static bool IsFirstOrLastStatement(SyntaxNode n) => n.Parent is BlockSyntax;

        public static T? FirstAncestor<T>(SyntaxNode n) where T : SyntaxNode => n.Ancestors().OfType<T>().FirstOrDefault();
    }
}
