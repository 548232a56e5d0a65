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
        using var output = new StringWriter();
        var clock = Stopwatch.StartNew();
        int code = Chapters.Run([chapter], output);
        Assert.True(code == 0, $"{chapter}: exit {code}\n{output}");
        Assert.Contains("== as the guide says", output.ToString());
        Assert.True(clock.Elapsed < TimeSpan.FromSeconds(30), $"{chapter} took {clock.Elapsed.TotalSeconds:0.0} s; samples must stay short");
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
    public void The_sample_program_runs_as_a_process_and_lists_its_chapters()
    {
        var dll = Path.Combine(AppContext.BaseDirectory, "TorchDoctor.Guide.dll");
        var psi = new ProcessStartInfo("dotnet") { RedirectStandardOutput = true, RedirectStandardError = true };
        psi.ArgumentList.Add(dll);
        using var p = Process.Start(psi)!;
        var stdout = p.StandardOutput.ReadToEnd();
        p.WaitForExit(60_000);
        Assert.Equal(0, p.ExitCode);
        foreach (var c in Chapters.All) Assert.Contains(c.Name, stdout);
        using var w = new StringWriter();
        Assert.Equal(2, Chapters.Run(["no-such-chapter"], w));
    }
}
