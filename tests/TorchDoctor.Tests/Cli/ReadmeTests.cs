using System.Text.RegularExpressions;
using Microsoft.CodeAnalysis;
using Microsoft.CodeAnalysis.CSharp;
using Xunit;

namespace TorchDoctor.Tests.Cli;

/// <summary>
/// The README runs as written on a fresh clone: every <c>./torchdoctor</c> command in it (from the repository root,
/// with files the project ships) and every C# snippet (compiled against the library).
/// </summary>
public partial class ReadmeTests
{
    private static string Root => Path.GetFullPath(Path.Combine(AppContext.BaseDirectory, "..", "..", "..", "..", ".."));

    private static string Readme => File.ReadAllText(Path.Combine(Root, "README.md"));

    /// <summary>The fenced blocks of the README: (language, body).</summary>
    private static List<(string Lang, string Body)> Blocks()
    {
        var blocks = new List<(string, string)>();
        var lines = Readme.Split('\n');
        for (int i = 0; i < lines.Length; i++)
        {
            if (!lines[i].StartsWith("```", StringComparison.Ordinal)) continue;
            var lang = lines[i][3..].Trim();
            var body = new List<string>();
            for (i++; i < lines.Length && !lines[i].StartsWith("```", StringComparison.Ordinal); i++) body.Add(lines[i]);
            blocks.Add((lang, string.Join("\n", body)));
        }
        return blocks;
    }

    /// <summary>Every <c>./torchdoctor ...</c> command of the README (continuation lines joined, comments removed), as arguments.</summary>
    public static List<string[]> Commands()
    {
        var result = new List<string[]>();
        foreach (var (lang, body) in Blocks().Where(b => b.Lang.Length == 0))
        {
            var joined = body.Replace("\\\n", " ", StringComparison.Ordinal);
            foreach (var raw in joined.Split('\n'))
            {
                var line = raw.Trim();
                if (line.StartsWith("$ ", StringComparison.Ordinal)) line = line[2..];
                if (!line.StartsWith("./torchdoctor ", StringComparison.Ordinal)) continue;
                var hash = line.IndexOf(" #", StringComparison.Ordinal);
                if (hash >= 0) line = line[..hash];
                result.Add(line["./torchdoctor ".Length..].Split(' ', StringSplitOptions.RemoveEmptyEntries));
            }
        }
        return result;
    }

    [Fact]
    public void Every_README_command_runs_as_written_from_the_repository_root()
    {
        var commands = Commands();
        Assert.True(commands.Count >= 15, $"{commands.Count} commands found");
        var cwd = Directory.GetCurrentDirectory();
        try
        {
            Directory.SetCurrentDirectory(Root);
            foreach (var args in commands)
            {
                var line = string.Join(" ", args);
                var errors = new TorchDoctor.Cli.CliApp(TextWriter.Null, TextWriter.Null).ParseErrors(args);
                Assert.True(errors.Count == 0, $"{line}: {string.Join("; ", errors)}");
                foreach (var file in args.Where(a => a.Contains('/') && !a.StartsWith('-')))
                    Assert.True(File.Exists(file) || Directory.Exists(file), $"{line}: {file} does not exist in a fresh clone");
                // The demos train models (minutes in all); their own tests run them. Everything else runs here.
                if (args[0] == "demo" && args.Length > 1) continue;
                var (code, _, err) = CliRunner.Run(args);
                Assert.True(code is 0 or 1 or 3, $"{line}: exit {code}: {err}");
                if (args.Contains("compare") && args.Contains("resnet18")) Assert.True(code == 0, $"{line}: exit {code}: {err}");
            }
        }
        finally
        {
            Directory.SetCurrentDirectory(cwd);
        }
    }

    [Fact]
    public void Every_README_csharp_snippet_compiles()
    {
        var snippets = Blocks().Where(b => b.Lang == "csharp").Select(b => b.Body).ToList();
        Assert.True(snippets.Count >= 3, $"{snippets.Count} snippets");
        // Load what the snippets name, then reference every loaded assembly.
        _ = typeof(TorchDoctor.Training.Doctor).Assembly;
        _ = typeof(TorchSharp.torch).Assembly;
        var refs = AppDomain.CurrentDomain.GetAssemblies().Where(a => !a.IsDynamic && a.Location.Length > 0)
            .Select(a => MetadataReference.CreateFromFile(a.Location)).ToList();
        for (int i = 0; i < snippets.Count; i++)
        {
            var lines = snippets[i].Split('\n');
            var usings = lines.Where(l => UsingLine().IsMatch(l)).ToList();
            var body = lines.Where(l => !UsingLine().IsMatch(l));
            var source = string.Join("\n", new[]
            {
                "using System; using System.IO; using System.Linq; using System.Collections.Generic;",
                "using TorchSharp; using static TorchSharp.torch; using static TorchSharp.torch.nn;",
            }.Concat(usings)) + $$"""

                public static class Snippet{{i}}
                {
                    // The names the README's snippets leave to the reader's program.
                    public static void Run(Module<Tensor, Tensor> model, TorchSharp.torch.optim.Optimizer optimizer,
                        IEnumerable<(Tensor, Tensor)> batches, TorchSharp.torch.utils.data.Dataset trainSet,
                        TorchSharp.torch.utils.data.Dataset testSet, TorchSharp.Modules.DataLoader trainLoader)
                    {
                {{string.Join("\n", body)}}
                    }
                }
                """;
            var compilation = CSharpCompilation.Create("Snippet" + i, [CSharpSyntaxTree.ParseText(source)], refs,
                new CSharpCompilationOptions(OutputKind.DynamicallyLinkedLibrary, nullableContextOptions: NullableContextOptions.Enable));
            var errors = compilation.GetDiagnostics().Where(d => d.Severity == DiagnosticSeverity.Error).ToList();
            Assert.True(errors.Count == 0, $"README snippet {i + 1} does not compile:\n{snippets[i]}\n{string.Join("\n", errors)}");
        }
    }

    [GeneratedRegex(@"^using [\w.]+;\s*$")]
    private static partial Regex UsingLine();
}
