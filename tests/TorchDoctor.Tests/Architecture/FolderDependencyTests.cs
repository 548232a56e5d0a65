using System.Text.RegularExpressions;
using Xunit;

namespace TorchDoctor.Tests.Architecture;

/// <summary>
/// The library's folders follow the flow: a folder depends only on folders below it (no cycle), and no domain folder
/// reaches into Reporting. Dependencies are read from the sources: <c>using TorchDoctor.X</c> lines, qualified names
/// <c>TorchDoctor.X.</c>, and namespace-relative names <c>X.Type</c>.
/// </summary>
public class FolderDependencyTests
{
    private static string RepoRoot()
    {
        for (var d = new DirectoryInfo(AppContext.BaseDirectory); d is not null; d = d.Parent)
            if (File.Exists(Path.Combine(d.FullName, "TorchDoctor.sln"))) return d.FullName;
        throw new InvalidOperationException("TorchDoctor.sln not found above " + AppContext.BaseDirectory);
    }

    private static string Library => Path.Combine(RepoRoot(), "src", "TorchDoctor");

    private static IReadOnlyList<string> Folders => Directory.GetDirectories(Library).Select(Path.GetFileName)
        .Where(n => n is not ("bin" or "obj")).Select(n => n!).Order(StringComparer.Ordinal).ToList();

    private static IEnumerable<string> Sources(string folder) => Directory.EnumerateFiles(Path.Combine(Library, folder), "*.cs", SearchOption.AllDirectories);

    /// <summary>Folder → folders it references, with one file per edge as the witness.</summary>
    internal static Dictionary<string, Dictionary<string, string>> Graph(string root, IReadOnlyList<string> folders)
    {
        var graph = folders.ToDictionary(f => f, _ => new Dictionary<string, string>());
        foreach (var f in folders)
            foreach (var file in Directory.EnumerateFiles(Path.Combine(root, f), "*.cs", SearchOption.AllDirectories))
            {
                var text = Regex.Replace(File.ReadAllText(file), @"//[^\n]*", "");
                var refs = new HashSet<string>();
                foreach (Match m in Regex.Matches(text, @"using (?:static )?TorchDoctor\.(\w+)")) refs.Add(m.Groups[1].Value);
                foreach (Match m in Regex.Matches(text, @"\bTorchDoctor\.(\w+)\.")) refs.Add(m.Groups[1].Value);
                foreach (var g in folders)
                    if (Regex.IsMatch(text, $@"(?<![\w.]){g}\.[A-Z]\w*")) refs.Add(g);
                foreach (var g in refs.Where(g => g != f && graph.ContainsKey(g)))
                    graph[f].TryAdd(g, Path.GetFileName(file));
            }
        return graph;
    }

    /// <summary>A cycle as "A → B → A" (with witnesses), or null.</summary>
    internal static string? FindCycle(Dictionary<string, Dictionary<string, string>> graph)
    {
        var state = graph.Keys.ToDictionary(k => k, _ => 0);   // 0 new, 1 on stack, 2 done
        var stack = new List<string>();
        string? found = null;
        bool Visit(string n)
        {
            state[n] = 1;
            stack.Add(n);
            foreach (var m in graph[n].Keys.Order(StringComparer.Ordinal))
            {
                if (state[m] == 1)
                {
                    var cycle = stack.Skip(stack.IndexOf(m)).Append(m).ToList();
                    found = string.Join(" → ", cycle.Zip(cycle.Skip(1), (a, b) => $"{a} ({graph[a][b]})")) + " → " + m;
                    return true;
                }
                if (state[m] == 0 && Visit(m)) return true;
            }
            stack.RemoveAt(stack.Count - 1);
            state[n] = 2;
            return false;
        }
        foreach (var n in graph.Keys.Order(StringComparer.Ordinal))
            if (state[n] == 0 && Visit(n)) return found;
        return null;
    }

    [Fact]
    public void Every_file_is_in_the_namespace_of_its_folder()
    {
        var wrong = Folders.SelectMany(f => Sources(f).Where(file =>
            !Regex.IsMatch(File.ReadAllText(file), $@"^namespace TorchDoctor\.{f}(\.\w+)*;", RegexOptions.Multiline))
            .Select(file => $"{f}/{Path.GetFileName(file)}")).ToList();
        Assert.True(wrong.Count == 0, "files whose namespace is not their folder's: " + string.Join(", ", wrong));
    }

    [Fact]
    public void Library_folders_have_no_dependency_cycle()
    {
        var graph = Graph(Library, Folders);
        Assert.True(graph.Values.Sum(e => e.Count) > 10, "the dependency reader found almost nothing");
        var cycle = FindCycle(graph);
        Assert.True(cycle is null, "folder cycle: " + cycle);
    }

    [Fact]
    public void No_domain_folder_references_Reporting()
    {
        var graph = Graph(Library, Folders);
        var offenders = graph.Where(kv => kv.Key != "Reporting" && kv.Value.ContainsKey("Reporting")).Select(kv => $"{kv.Key} ({kv.Value["Reporting"]})").ToList();
        Assert.True(offenders.Count == 0, "domain folders that reach into Reporting: " + string.Join(", ", offenders));
    }

    [Fact]
    public void The_reader_finds_a_cycle_when_there_is_one()
    {
        var dir = Directory.CreateTempSubdirectory("td-cycle");
        try
        {
            Directory.CreateDirectory(Path.Combine(dir.FullName, "A"));
            Directory.CreateDirectory(Path.Combine(dir.FullName, "B"));
            Directory.CreateDirectory(Path.Combine(dir.FullName, "C"));
            File.WriteAllText(Path.Combine(dir.FullName, "A", "X.cs"), "using TorchDoctor.B;\nnamespace TorchDoctor.A;\n");
            File.WriteAllText(Path.Combine(dir.FullName, "B", "Y.cs"), "namespace TorchDoctor.B;\nclass Y { object o = C.Z.Make(); }\n");
            File.WriteAllText(Path.Combine(dir.FullName, "C", "Z.cs"), "namespace TorchDoctor.C;\nclass Z { TorchDoctor.A.X? x; }\n");
            var graph = Graph(dir.FullName, ["A", "B", "C"]);
            Assert.Equal("A (X.cs) → B (Y.cs) → C (Z.cs) → A", FindCycle(graph));
            File.WriteAllText(Path.Combine(dir.FullName, "C", "Z.cs"), "namespace TorchDoctor.C;\n");
            Assert.Null(FindCycle(Graph(dir.FullName, ["A", "B", "C"])));
        }
        finally
        {
            dir.Delete(true);
        }
    }

    [Fact]
    public void The_library_package_is_product_only()
    {
        var csproj = File.ReadAllText(Path.Combine(Library, "TorchDoctor.csproj"));
        var packages = Regex.Matches(csproj, @"PackageReference Include=""([^""]+)""").Select(m => m.Groups[1].Value).ToList();
        Assert.Contains("TorchSharp", packages);
        Assert.DoesNotContain("TorchSharp-cpu", packages);
        Assert.DoesNotContain("Spectre.Console", packages);
        Assert.DoesNotContain("Demos", Folders);
        Assert.DoesNotContain("Models", Folders);
    }
}
