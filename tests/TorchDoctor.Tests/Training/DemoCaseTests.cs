using TorchDoctor.Demos;
using TorchDoctor.Findings;
using Xunit;

namespace TorchDoctor.Tests.Training;

/// <summary>Each demo produces its finding with the right code and module, and the remedy run is clean.</summary>
public class DemoCaseTests
{
    [Theory]
    [InlineData("exploding-gradients", "TD2002", "(root)")]
    [InlineData("vanishing-gradients", "TD2001", "fc1")]
    [InlineData("dead-relu", "TD2003", "relu2")]
    [InlineData("nan-origin", "TD2005", "features.log")]
    public void Demo_finds_its_fault_and_the_fix_removes_it(string name, string code, string module)
    {
        var r = DemoCatalog.Find(name)!.Run(new DemoOptions());
        Assert.Contains(r.Findings, f => f.Code == code && f.Module == module);
        // One cause, one finding: no consequence (NaN loss, overflow origin) beside it, and never a blank module.
        Assert.All(r.Findings.Where(f => f.Severity >= Severity.Warning), f => Assert.Equal(code, f.Code));
        Assert.All(r.Findings, f => Assert.NotEqual("", f.Module));
        Assert.NotNull(r.After);
        Assert.DoesNotContain(r.After!.Findings, f => f.Code == code);
        Assert.DoesNotContain(r.After.Findings, f => f.Severity >= Severity.Warning);
        Assert.True(r.After.Metrics["testAccuracy"] > r.Before.Metrics["testAccuracy"] + 0.2,
            $"accuracy {r.Before.Metrics["testAccuracy"]} → {r.After.Metrics["testAccuracy"]}");
    }

    [Fact]
    public void Clean_run_has_no_warning_or_error()
    {
        var r = DemoCatalog.Find("clean")!.Run(new DemoOptions { Fix = false });
        Assert.DoesNotContain(r.Findings, f => f.Severity >= Severity.Warning);
        Assert.Null(r.After);
        Assert.True(r.Before.Metrics["testAccuracy"] > 0.9);
    }

    [Fact]
    public void Demo_json_follows_the_contract()
    {
        var (code, output, err) = CliRunner.Run("demo", "nan-origin", "--steps", "20", "--json");
        Assert.True(code == 0, err);
        var j = CliRunner.Json(output);
        Assert.Equal("nan-origin", j.GetProperty("case").GetString());
        var f = j.GetProperty("findings").EnumerateArray().First();
        foreach (var field in new[] { "code", "slug", "severity", "module", "step", "message", "evidence", "advice" })
            Assert.True(f.TryGetProperty(field, out _), field);
        Assert.Equal("features.log", f.GetProperty("module").GetString());
        Assert.True(j.TryGetProperty("before", out _));
        Assert.True(j.TryGetProperty("after", out _));
    }

    [Fact]
    public void Unknown_demo_and_missing_data_are_bad_usage()
    {
        Assert.Equal(2, CliRunner.Run("demo", "no-such-case").Code);
        Assert.Equal(2, CliRunner.Run("demo", "clean", "--data", "imagenet").Code);
    }
}
