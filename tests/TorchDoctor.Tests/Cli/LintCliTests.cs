using System.Text.RegularExpressions;
using Xunit;

namespace TorchDoctor.Tests.Cli;

public class LintCliTests
{
    private static string Fixture => Path.Combine(AppContext.BaseDirectory, "Fixtures", "lint", "AllRules");

    internal static string RepoRoot()
    {
        for (var dir = new DirectoryInfo(AppContext.BaseDirectory); dir is not null; dir = dir.Parent)
            if (File.Exists(Path.Combine(dir.FullName, "TorchDoctor.sln"))) return dir.FullName;
        throw new InvalidOperationException("TorchDoctor.sln not found above " + AppContext.BaseDirectory);
    }

    [Fact]
    public void Each_rule_is_listed_with_file_line_and_fix()
    {
        var (code, output, _) = CliRunner.Run("lint", Fixture);
        Assert.Equal(1, code);
        var expected = new (string Code, int Line)[]
        {
            ("TD5002", 14), ("TD5001", 16), ("TD1001", 21), ("TD1003", 26), ("TD5004", 33), ("TD5006", 33),
            ("TD5003", 35), ("TD5005", 38), ("TD5007", 40),
        };
        foreach (var (c, line) in expected)
            Assert.Matches(new Regex($@"^Model\.cs:{line}:\d+: (warning|error|info) {c} [a-z-]+: .+\r?\n    fix: .+$", RegexOptions.Multiline), output);
        Assert.Contains("9 findings (7 at warning or error, 2 info)", output);
    }

    [Fact]
    public void Json_lists_the_same_findings()
    {
        var (code, output, _) = CliRunner.Run("lint", Fixture, "--json");
        Assert.Equal(1, code);
        var json = CliRunner.Json(output);
        var findings = json.GetProperty("findings").EnumerateArray().ToList();
        Assert.Equal(["TD1001", "TD1003", "TD5001", "TD5002", "TD5003", "TD5004", "TD5005", "TD5006", "TD5007"],
            findings.Select(f => f.GetProperty("code").GetString()).Order());
        Assert.All(findings, f => Assert.False(string.IsNullOrWhiteSpace(f.GetProperty("fix").GetString())));
        Assert.StartsWith("0.107.0", json.GetProperty("torchsharpVersion").GetString());
    }

    [Fact]
    public void Missing_path_and_folders_without_sources_exit_2_with_one_line()
    {
        var (code, output, err) = CliRunner.Run("lint", Path.Combine(Fixture, "no-such-dir"));
        Assert.Equal(2, code);
        Assert.Equal("", output);
        Assert.Single(err.Trim().Split('\n'));
        Assert.Contains("does not exist", err);

        var empty = Directory.CreateTempSubdirectory("td-lint-");
        try
        {
            var (code2, _, err2) = CliRunner.Run("lint", empty.FullName);
            Assert.Equal(2, code2);
            Assert.Contains("no .cs files", err2);
        }
        finally { empty.Delete(true); }
    }

    // The project's own code: nothing at warning level except the demos' deliberate faults, suppressed in place.
    [Fact]
    [Trait("Category", "Slow")]
    public void The_projects_own_sources_are_clean()
    {
        var root = RepoRoot();
        foreach (var dir in new[] { "src", "bench", "samples" }.Select(d => Path.Combine(root, d)).Where(Directory.Exists))
        {
            var (code, output, err) = CliRunner.Run("lint", dir);
            Assert.True(code == 0, $"lint {dir} exited {code}:\n{output}{err}");
        }
        var demos = File.ReadAllText(Directory.EnumerateFiles(Path.Combine(root, "src"), "ModelZoo.cs", SearchOption.AllDirectories).First());
        Assert.Contains("#pragma warning disable TD1003 // deliberate fault", demos);
        Assert.Contains("#pragma warning disable TD1001 // deliberate fault", demos);
    }
}
