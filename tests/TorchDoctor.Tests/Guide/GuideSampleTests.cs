using System.Diagnostics;
using System.Text.RegularExpressions;
using TorchDoctor.Guide;
using Xunit;

namespace TorchDoctor.Tests.Guide;

/// <summary>
/// docs/guide.md keeps working: every <c>dotnet run --project samples/Guide -- CHAPTER</c> command in it names a sample
/// that runs and shows what its chapter says (exit 0: the doctor found the bug, the fix is quiet), every sample is in
/// the guide, and the chapters follow the seed guide's order.
/// </summary>
public partial class GuideSampleTests
{
    private static string Root => Path.GetFullPath(Path.Combine(AppContext.BaseDirectory, "..", "..", "..", "..", ".."));

    [GeneratedRegex(@"dotnet run --project samples/Guide -- ([a-z-]+)")]
    private static partial Regex SampleCommand();

    private static List<string> GuideCommands()
        => SampleCommand().Matches(File.ReadAllText(Path.Combine(Root, "docs", "guide.md"))).Select(m => m.Groups[1].Value).Distinct().ToList();

    /// <summary>xunit data: the chapters the guide runs.</summary>
    public static IEnumerable<object[]> GuideChapters() => GuideCommands().Select(c => new object[] { c });

    [Theory]
    [MemberData(nameof(GuideChapters))]
    public void Each_guide_command_runs_and_shows_its_point(string chapter)
    {
        // The built sample program in its own process, as `dotnet run --project samples/Guide -- CHAPTER` runs it
        // (without the build step): the samples use the global RNG and allocate, so they stay out of the test host.
        var clock = Stopwatch.StartNew();
        var (code, stdout, stderr) = RunGuide(chapter);
        Assert.True(code == 0, $"{chapter}: exit {code}\n{stdout}\n{stderr}");
        Assert.Contains("== as the guide says", stdout);
        Assert.True(clock.Elapsed < TimeSpan.FromSeconds(40), $"{chapter} took {clock.Elapsed.TotalSeconds:0.0} s; samples must stay short");
    }

    private static (int Code, string Out, string Err) RunGuide(params string[] args)
    {
        var psi = new ProcessStartInfo("dotnet") { RedirectStandardOutput = true, RedirectStandardError = true };
        psi.ArgumentList.Add(Path.Combine(AppContext.BaseDirectory, "TorchDoctor.Guide.dll"));
        foreach (var a in args) psi.ArgumentList.Add(a);
        psi.Environment["DOTNET_NOLOGO"] = "1";
        using var p = Process.Start(psi)!;
        var err = p.StandardError.ReadToEndAsync();
        var stdout = p.StandardOutput.ReadToEnd();
        if (!p.WaitForExit(120_000)) { p.Kill(entireProcessTree: true); throw new TimeoutException(string.Join(" ", args)); }
        return (p.ExitCode, stdout, err.Result);
    }

    [Fact]
    public void The_guide_runs_every_sample_in_the_seed_chapter_order()
    {
        var commands = GuideCommands();
        Assert.Equal(Chapters.All.Select(c => c.Name), commands);
        // The seed's order: basics, common problems, data loading, shapes, hooks and profiling, memory, graph
        // optimisation, tools, case studies.
        Assert.Equal(Enumerable.Range(1, 9).Select(i => i.ToString(System.Globalization.CultureInfo.InvariantCulture)),
            Chapters.All.Select(c => c.Section.Split(' ')[0]));
        var guide = File.ReadAllText(Path.Combine(Root, "docs", "guide.md"));
        string[] headings = ["## 1 Basics", "## 2 Common problems", "## 3 Data loading", "## 4 Shapes", "## 5 Hooks and profiling",
            "## 6 Memory", "## 7 Graph optimisation", "## 8 Tools", "## 9 Case studies"];
        var positions = headings.Select(h => guide.IndexOf(h, StringComparison.Ordinal)).ToList();
        Assert.All(positions, p => Assert.True(p >= 0));
        Assert.Equal(positions.Order(), positions);
    }

    [Fact]
    public void The_sample_program_lists_its_chapters_and_refuses_an_unknown_one()
    {
        var (code, stdout, _) = RunGuide();
        Assert.Equal(0, code);
        foreach (var c in Chapters.All) Assert.Contains(c.Name, stdout);
        Assert.Equal(2, RunGuide("no-such-chapter").Code);
    }
}

/// <summary><c>torchdoctor demo</c> without a case lists every case with the guide section it illustrates, and that section of docs/guide.md names the case.</summary>
public class DemoListTests
{
    [Fact]
    public void Demo_without_a_case_maps_every_case_to_a_guide_section_that_names_it()
    {
        var (code, output, err) = CliRunner.Run("demo");
        Assert.True(code == 0, err);
        var guide = File.ReadAllText(Path.Combine(AppContext.BaseDirectory, "..", "..", "..", "..", "..", "docs", "guide.md"));
        var sections = System.Text.RegularExpressions.Regex.Split(guide, @"(?m)^## ").Skip(1).ToDictionary(s => s[0], s => s);
        var lines = output.Split('\n');
        foreach (var demo in TorchDoctor.Demos.DemoCatalog.All)
        {
            var line = lines.Single(l => l.TrimStart().StartsWith(demo.Name + " ", StringComparison.Ordinal));
            var rest = line.TrimStart()[demo.Name.Length..].TrimStart();
            Assert.True(char.IsDigit(rest[0]), $"{demo.Name}: no guide section in '{line.Trim()}'");
            Assert.True(sections.TryGetValue(rest[0], out var section), $"{demo.Name}: guide has no section {rest[0]}");
            Assert.Contains(demo.Name, section);
        }
    }
}
