using Microsoft.CodeAnalysis;
using Microsoft.CodeAnalysis.CodeFixes;
using Microsoft.CodeAnalysis.CSharp.Testing;
using Microsoft.CodeAnalysis.Diagnostics;
using Microsoft.CodeAnalysis.Testing;

namespace TorchDoctor.Tests.Analyzers;

/// <summary>
/// Runs the Roslyn analyzer/code-fix test harness against TorchSharp. Tests cannot download reference packs, so the
/// compilation references the running framework's assemblies and the TorchSharp assembly the tests run with.
/// </summary>
internal static class Verify
{
    /// <summary>Usings every test source starts with (markup positions are relative to the source as written).</summary>
    public const string Usings = """
        using System;
        using System.Collections.Generic;
        using TorchSharp;
        using TorchSharp.Modules;
        using static TorchSharp.torch;
        using static TorchSharp.torch.nn;

        """;

    private static readonly ReferenceAssemblies NoPacks = new("net10.0");

    internal static IReadOnlyList<MetadataReference> References { get; } = BuildReferences();

    private static IReadOnlyList<MetadataReference> BuildReferences()
    {
        var framework = Path.GetDirectoryName(typeof(object).Assembly.Location)!;
        var refs = Directory.GetFiles(framework, "*.dll")
            .Where(p => { try { System.Reflection.AssemblyName.GetAssemblyName(p); return true; } catch (BadImageFormatException) { return false; } })
            .Select(p => (MetadataReference)MetadataReference.CreateFromFile(p)).ToList();
        refs.Add(MetadataReference.CreateFromFile(typeof(TorchSharp.torch).Assembly.Location));
        return refs;
    }

    /// <summary>Runs <typeparamref name="TAnalyzer"/> over <paramref name="source"/> (markup: <c>{|TD5001:text|}</c>).</summary>
    public static Task Analyzer<TAnalyzer>(string source, string? globalConfig = null) where TAnalyzer : DiagnosticAnalyzer, new()
    {
        var test = new CSharpAnalyzerTest<TAnalyzer, DefaultVerifier> { TestCode = Usings + source, ReferenceAssemblies = NoPacks };
        test.TestState.AdditionalReferences.AddRange(References);
        if (globalConfig is not null) test.TestState.AnalyzerConfigFiles.Add(("/.globalconfig", "is_global = true\n" + globalConfig));
        return test.RunAsync();
    }

    /// <summary>Runs the analyzer and the fix: <paramref name="source"/> must become <paramref name="fixedSource"/>.</summary>
    public static Task CodeFix<TAnalyzer, TFix>(string source, string fixedSource)
        where TAnalyzer : DiagnosticAnalyzer, new() where TFix : CodeFixProvider, new()
    {
        var test = new CSharpCodeFixTest<TAnalyzer, TFix, DefaultVerifier>
        {
            TestCode = Usings + source, FixedCode = Usings + fixedSource, ReferenceAssemblies = NoPacks,
        };
        test.TestState.AdditionalReferences.AddRange(References);
        test.FixedState.AdditionalReferences.AddRange(References);
        return test.RunAsync();
    }
}
