using System;
using System.Collections.Immutable;
using System.Linq;
using Microsoft.CodeAnalysis;
using Microsoft.CodeAnalysis.CSharp;
using Microsoft.CodeAnalysis.CSharp.Syntax;
using Microsoft.CodeAnalysis.Diagnostics;

namespace TorchDoctor.Analyzers
{
    /// <summary>
    /// TD5007 (information): <c>matmul</c> (<c>Tensor.matmul</c>, <c>torch.matmul</c>) when the referenced TorchSharp
    /// is a version measured to abort the process on mismatched shapes. The version is the referenced TorchSharp
    /// assembly's, or the <c>torchdoctor.torchsharp_version</c> option (.editorconfig / global config; lint sets it
    /// from the project's PackageReference).
    /// </summary>
    [DiagnosticAnalyzer(LanguageNames.CSharp)]
    public sealed class MatmulAnalyzer : DiagnosticAnalyzer
    {
        /// <summary>The option that overrides the TorchSharp version taken from the referenced assembly.</summary>
        public const string VersionOption = "torchdoctor.torchsharp_version";

        /// <summary>TorchSharp versions (major.minor) on which a mismatched matmul was measured to abort (exit 134).</summary>
        public static readonly ImmutableArray<Version> AbortingVersions = ImmutableArray.Create(new Version(0, 107));

        /// <inheritdoc />
        public override ImmutableArray<DiagnosticDescriptor> SupportedDiagnostics { get; } = ImmutableArray.Create(Rules.MatmulAborts);

        /// <inheritdoc />
        public override void Initialize(AnalysisContext context)
        {
            context.ConfigureGeneratedCodeAnalysis(GeneratedCodeAnalysisFlags.None);
            context.EnableConcurrentExecution();
            context.RegisterCompilationStartAction(start =>
            {
                var version = start.Compilation.ReferencedAssemblyNames.FirstOrDefault(a => a.Name == "TorchSharp")?.Version;
                if (start.Options.AnalyzerConfigOptionsProvider.GlobalOptions.TryGetValue(VersionOption, out var text)
                    && Version.TryParse(text.Split('-')[0], out var configured))
                    version = configured;
                if (version is null || !Aborts(version)) return;
                var shown = $"{version.Major}.{version.Minor}.{Math.Max(0, version.Build)}";
                start.RegisterSyntaxNodeAction(c => Analyze(c, shown), SyntaxKind.InvocationExpression);
            });
        }

        /// <summary>True when <paramref name="v"/> is a version known to abort on mismatched matmul shapes.</summary>
        public static bool Aborts(Version v) => AbortingVersions.Any(a => a.Major == v.Major && a.Minor == v.Minor);

        private static void Analyze(SyntaxNodeAnalysisContext context, string version)
        {
            var inv = (InvocationExpressionSyntax)context.Node;
            if (TorchTypes.InvokedName(inv) != "matmul") return;
            if (!(context.SemanticModel.GetSymbolInfo(inv, context.CancellationToken).Symbol is IMethodSymbol m) || !TorchTypes.IsTorchSharp(m)) return;
            var fix = "while shapes are not certain use torch.mm(a, b) (2-D), torch.bmm (3-D) or a Linear layer, which throw a catchable exception; or check a.shape[^1] == b.shape[^2] first";
            var location = inv.Expression is MemberAccessExpressionSyntax ma ? ma.Name.GetLocation() : inv.Expression.GetLocation();
            context.ReportDiagnostic(Diagnostic.Create(Rules.MatmulAborts, location,
                ImmutableDictionary<string, string?>.Empty.Add(DiagnosticIds.FixProperty, fix), version, fix));
        }
    }
}
