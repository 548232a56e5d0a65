using System.Collections.Immutable;
using System.CommandLine;
using System.Text.Json;
using System.Text.RegularExpressions;
using System.Xml.Linq;
using Microsoft.CodeAnalysis;
using Microsoft.CodeAnalysis.CSharp;
using Microsoft.CodeAnalysis.Diagnostics;
using TorchDoctor.Analyzers;
using TorchDoctor.Reporting;

namespace TorchDoctor.Cli;

/// <summary>`torchdoctor lint`: the TorchDoctor analyzers over a folder of .cs files, without building it.</summary>
public sealed partial class CliApp
{
    private Command LintCommand()
    {
        var path = new Argument<string>("path") { Description = "A .csproj file or a folder: its .cs files (bin/ and obj/ skipped) are compiled against TorchSharp, not built." };
        var json = new Option<bool>("--json") { Description = "Print one JSON object." };
        var cmd = new Command("lint", "Find TorchSharp mistakes in source code (unregistered modules, hook bypass, layer sizes that cannot chain, softmax into cross_entropy, missing zero_grad, tensors kept across iterations, loops without dispose scopes, matmul that aborts). Exit 1 when a finding is a warning or worse.")
        {
            path, json,
        };
        cmd.SetAction(p =>
        {
            var result = SourceLint.Run(p.GetValue(path)!);
            if (p.GetValue(json)) Out.WriteLine(result.ToJson());
            else result.Write(Out);
            return result.Findings.Any(f => f.Severity >= DiagnosticSeverity.Warning) ? ExitCodes.Findings : ExitCodes.Ok;
        });
        return cmd;
    }
}

/// <summary>One analyzer finding of <c>lint</c>: where, what, and the fix.</summary>
/// <param name="File">Path relative to the linted folder.</param>
/// <param name="Line">1-based line.</param>
/// <param name="Column">1-based column.</param>
/// <param name="Code">Catalogue code, e.g. TD5001.</param>
/// <param name="Slug">Catalogue slug.</param>
/// <param name="Severity">Severity.</param>
/// <param name="Message">What is wrong.</param>
/// <param name="Fix">What to do.</param>
public sealed record LintFinding(string File, int Line, int Column, string Code, string Slug, DiagnosticSeverity Severity, string Message, string Fix);

/// <summary>What <c>lint</c> found in a folder.</summary>
/// <param name="Root">The folder the paths are relative to.</param>
/// <param name="Files">Number of .cs files compiled.</param>
/// <param name="Lines">Their lines.</param>
/// <param name="TorchSharpVersion">The TorchSharp version the version-aware rules assumed, and where it came from.</param>
/// <param name="Findings">The findings, by file and line.</param>
public sealed record LintResult(string Root, int Files, int Lines, string TorchSharpVersion, IReadOnlyList<LintFinding> Findings)
{
    /// <summary>Writes one block per finding and a closing count.</summary>
    public void Write(TextWriter w)
    {
        foreach (var f in Findings)
        {
            w.WriteLine($"{f.File}:{f.Line}:{f.Column}: {SeverityName(f.Severity)} {f.Code} {f.Slug}: {f.Message}");
            w.WriteLine($"    fix: {f.Fix}");
        }
        int warnings = Findings.Count(f => f.Severity >= DiagnosticSeverity.Warning);
        w.WriteLine($"lint: {Files} files, {Lines} lines (TorchSharp {TorchSharpVersion}); {Findings.Count} findings ({warnings} at warning or error, {Findings.Count - warnings} info)");
    }

    /// <summary>The result as one JSON object.</summary>
    public string ToJson() => JsonText.Write(true, w =>
    {
        w.WriteStartObject();
        w.WriteString("root", Root);
        w.WriteNumber("files", Files);
        w.WriteNumber("lines", Lines);
        w.WriteString("torchsharpVersion", TorchSharpVersion);
        w.WriteStartArray("findings");
        foreach (var f in Findings)
        {
            w.WriteStartObject();
            w.WriteString("file", f.File);
            w.WriteNumber("line", f.Line);
            w.WriteNumber("column", f.Column);
            w.WriteString("code", f.Code);
            w.WriteString("slug", f.Slug);
            w.WriteString("severity", SeverityName(f.Severity));
            w.WriteString("message", f.Message);
            w.WriteString("fix", f.Fix);
            w.WriteEndObject();
        }
        w.WriteEndArray();
        w.WriteEndObject();
    });

    internal static string SeverityName(DiagnosticSeverity s) => s switch
    {
        DiagnosticSeverity.Error => "error",
        DiagnosticSeverity.Warning => "warning",
        DiagnosticSeverity.Info => "info",
        _ => "hidden",
    };
}

/// <summary>
/// Compiles a folder's .cs files against the TorchSharp and framework assemblies this tool runs with (no build, no
/// restore) and runs the TorchDoctor analyzers over them. Compile errors from missing references do not stop it:
/// the rules work on what resolves. <c>#pragma warning disable</c> and <c>[SuppressMessage]</c> are honoured.
/// </summary>
public static class SourceLint
{
    /// <summary>Lints <paramref name="path"/> (a .csproj or a folder).</summary>
    public static LintResult Run(string path)
    {
        string root;
        string? project = null;
        if (File.Exists(path) && path.EndsWith(".csproj", StringComparison.OrdinalIgnoreCase)) { project = Path.GetFullPath(path); root = Path.GetDirectoryName(project)!; }
        else if (Directory.Exists(path)) root = Path.GetFullPath(path);
        else if (File.Exists(path)) throw new UsageException($"lint: '{path}' is not a .csproj file or a folder; give a project file or a folder of .cs files");
        else throw new UsageException($"lint: '{path}' does not exist; give a .csproj file or a folder of .cs files");

        var files = Directory.EnumerateFiles(root, "*.cs", SearchOption.AllDirectories)
            .Where(f => !IsBuildOutput(Path.GetRelativePath(root, f)))
            .OrderBy(f => f, StringComparer.Ordinal).ToList();
        if (files.Count == 0) throw new UsageException($"lint: no .cs files under '{path}'; give a project or a folder with C# sources");

        var parse = new CSharpParseOptions(LanguageVersion.Preview);
        var trees = new List<SyntaxTree>();
        int lines = 0;
        foreach (var f in files)
        {
            var text = File.ReadAllText(f);
            lines += text.Count(c => c == '\n') + (text.Length > 0 && text[^1] != '\n' ? 1 : 0);
            trees.Add(CSharpSyntaxTree.ParseText(text, parse, f));
        }
        var projects = project is not null ? [project] : Directory.EnumerateFiles(root, "*.csproj", SearchOption.AllDirectories).Where(f => !IsBuildOutput(Path.GetRelativePath(root, f))).ToList();
        if (projects.Count == 0 || projects.Any(ImplicitUsings))
            trees.Add(CSharpSyntaxTree.ParseText(ImplicitUsingsSource, parse, "ImplicitUsings.g.cs"));

        var compilation = CSharpCompilation.Create("lint", trees, References.Value,
            new CSharpCompilationOptions(OutputKind.DynamicallyLinkedLibrary, nullableContextOptions: NullableContextOptions.Enable, allowUnsafe: true));
        var (version, source) = TorchSharpVersion(root, projects);
        var options = new AnalyzerOptions([], new LintOptions(version is null ? [] : new Dictionary<string, string> { [MatmulAnalyzer.VersionOption] = version }));
        var analyzers = typeof(Rules).Assembly.GetTypes()
            .Where(t => !t.IsAbstract && typeof(DiagnosticAnalyzer).IsAssignableFrom(t))
            .Select(t => (DiagnosticAnalyzer)Activator.CreateInstance(t)!).ToImmutableArray();
        var diagnostics = compilation.WithAnalyzers(analyzers, options).GetAnalyzerDiagnosticsAsync().GetAwaiter().GetResult();

        var findings = diagnostics
            .Where(d => d.Location.IsInSource && !d.IsSuppressed && d.Severity != DiagnosticSeverity.Hidden)
            .Select(d =>
            {
                var span = d.Location.GetLineSpan();
                var message = d.GetMessage(System.Globalization.CultureInfo.InvariantCulture);
                var cut = message.LastIndexOf(" Fix: ", StringComparison.Ordinal);
                var fix = d.Properties.TryGetValue(DiagnosticIds.FixProperty, out var f) && f is not null ? f : cut >= 0 ? message[(cut + 6)..] : "";
                return new LintFinding(Path.GetRelativePath(root, span.Path), span.StartLinePosition.Line + 1, span.StartLinePosition.Character + 1,
                    d.Id, d.Descriptor.Title.ToString(System.Globalization.CultureInfo.InvariantCulture), d.Severity, cut >= 0 ? message[..cut] : message, fix);
            })
            .OrderBy(f => f.File, StringComparer.Ordinal).ThenBy(f => f.Line).ThenBy(f => f.Column).ThenBy(f => f.Code, StringComparer.Ordinal)
            .ToList();
        var shownVersion = version is null ? "unknown" : $"{version} from {source}";
        return new LintResult(root, files.Count, lines, shownVersion, findings);
    }

    private static bool IsBuildOutput(string relative)
    {
        var parts = relative.Split(Path.DirectorySeparatorChar, Path.AltDirectorySeparatorChar);
        return parts.Take(parts.Length - 1).Any(p => p is "bin" or "obj" or ".git");
    }

    private static bool ImplicitUsings(string csproj)
    {
        try
        {
            return XDocument.Load(csproj).Descendants().Any(e => e.Name.LocalName == "ImplicitUsings" && e.Value.Trim() is "enable" or "true");
        }
        catch (Exception e) when (e is System.Xml.XmlException or IOException) { return false; }
    }

    private const string ImplicitUsingsSource = """
        global using global::System;
        global using global::System.Collections.Generic;
        global using global::System.IO;
        global using global::System.Linq;
        global using global::System.Net.Http;
        global using global::System.Threading;
        global using global::System.Threading.Tasks;
        """;

    /// <summary>The TorchSharp version of the projects (PackageReference or central PackageVersion), else the referenced assembly's.</summary>
    private static (string? Version, string Source) TorchSharpVersion(string root, IReadOnlyList<string> projects)
    {
        var candidates = new List<string>(projects);
        for (var dir = new DirectoryInfo(root); dir is not null; dir = dir.Parent)
        {
            var props = Path.Combine(dir.FullName, "Directory.Packages.props");
            if (File.Exists(props)) { candidates.Add(props); break; }
        }
        var pattern = new Regex("""<Package(?:Reference|Version)\s+Include="TorchSharp(?:-cpu|-cuda-[a-z]+)?"\s+Version="([0-9][^"]*)""", RegexOptions.IgnoreCase);
        foreach (var file in candidates)
        {
            string text;
            try { text = File.ReadAllText(file); } catch (IOException) { continue; }
            var m = pattern.Match(text);
            if (m.Success) return (m.Groups[1].Value, Path.GetFileName(file));
        }
        var assembly = typeof(TorchSharp.torch).Assembly.GetName().Version;
        return (assembly is null ? null : $"{assembly.Major}.{assembly.Minor}.{assembly.Build}", "the TorchSharp assembly lint compiles against");
    }

    private static readonly Lazy<IReadOnlyList<MetadataReference>> References = new(() =>
    {
        var framework = Path.GetDirectoryName(typeof(object).Assembly.Location)!;
        var tpa = ((AppContext.GetData("TRUSTED_PLATFORM_ASSEMBLIES") as string) ?? "").Split(Path.PathSeparator, StringSplitOptions.RemoveEmptyEntries);
        return tpa.Where(p => Path.GetDirectoryName(p) == framework || Path.GetFileName(p).StartsWith("TorchSharp", StringComparison.OrdinalIgnoreCase) || Path.GetFileName(p).StartsWith("TorchVision", StringComparison.OrdinalIgnoreCase))
            .Where(p => p.EndsWith(".dll", StringComparison.OrdinalIgnoreCase))
            .Select(p => (MetadataReference)MetadataReference.CreateFromFile(p)).ToList();
    });

    private sealed class LintOptions(IReadOnlyDictionary<string, string> values) : AnalyzerConfigOptionsProvider
    {
        private readonly Options _options = new(values);
        public override AnalyzerConfigOptions GlobalOptions => _options;
        public override AnalyzerConfigOptions GetOptions(SyntaxTree tree) => Options.Empty;
        public override AnalyzerConfigOptions GetOptions(AdditionalText textFile) => Options.Empty;

        private sealed class Options(IReadOnlyDictionary<string, string> values) : AnalyzerConfigOptions
        {
            public static readonly Options Empty = new(new Dictionary<string, string>());
            public override bool TryGetValue(string key, [System.Diagnostics.CodeAnalysis.NotNullWhen(true)] out string? value)
            {
                if (values.TryGetValue(key, out var v)) { value = v; return true; }
                value = null;
                return false;
            }
        }
    }
}
