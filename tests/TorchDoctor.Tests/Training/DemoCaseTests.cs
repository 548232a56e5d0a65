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

    /// <summary>
    /// Issue 12's demos: the faulty run names its code (at the module where one is named), no two of its findings advise
    /// opposite fixes, and the fixed run has no warning or error; each fix shows the improvement it is for.
    /// </summary>
    [Theory]
    [InlineData("overfitting", "TD2101", null)]
    [InlineData("lr-too-high", "TD2103", null)]
    [InlineData("eval-mode", "TD2114", "bn1")]
    [InlineData("no-zero-grad", "TD2117", null)]
    [InlineData("batch-mixing", "TD2118", "flatten")]
    [InlineData("bad-init-loss", "TD2110", null)]
    [InlineData("softmax-logits", "TD2111", "softmax")]
    [InlineData("slow-convergence", "TD2104", null)]
    public void Convergence_demo_finds_its_code_and_the_fix_is_quiet(string name, string code, string? module)
    {
        var r = DemoCatalog.Find(name)!.Run(new DemoOptions());
        Assert.True(r.Findings.Any(f => code.Split('|').Contains(f.Code) && (module is null || f.Module == module)),
            $"{name}: expected {code}{(module is null ? "" : " at " + module)}; found {string.Join("; ", r.Findings.Select(f => $"{f.Code} at {f.Module}"))}");
        foreach (var a in r.Findings)
            foreach (var b in r.Findings)
                Assert.False(a.Remedy.Contradicts(b.Remedy), $"{name}: {a.Code} ({a.Remedy}) contradicts {b.Code} ({b.Remedy})");
        Assert.NotNull(r.After);
        Assert.True(!r.After!.Findings.Any(f => f.Severity >= Severity.Warning),
            $"{name} fixed run: {string.Join("; ", r.After.Findings.Where(f => f.Severity >= Severity.Warning).Select(f => f.ToString()))}");
        var (before, after) = (r.Before.Metrics, r.After.Metrics);
        switch (name)
        {
            case "overfitting":
                Assert.True(after["bestValLoss"] < before["bestValLoss"], $"best val loss {before["bestValLoss"]} → {after["bestValLoss"]}");
                break;
            case "eval-mode":
                Assert.True(after["testAccuracy"] >= before["testAccuracy"] - 0.01);
                break;
            case "slow-convergence":
                AssertFortyPercentFewerSteps(r);
                break;
            default:
                Assert.True(after["testAccuracy"] > before["testAccuracy"] + 0.1, $"accuracy {before["testAccuracy"]} → {after["testAccuracy"]}");
                break;
        }
    }

    /// <summary>The guide's case study 3 on its own data: plain SGD lr 1e-3 on Fashion-MNIST, and the fix (LR range test's
    /// suggestion + warmup + plateau, still SGD) reaches the faulty run's last loss in at least 40% fewer steps.</summary>
    [FashionMnistTheory]
    [InlineData("fashion-mnist")]
    public void Slow_convergence_fix_on_fashion_mnist_needs_40_percent_fewer_steps(string data)
    {
        var r = DemoCatalog.Find("slow-convergence")!.Run(new DemoOptions { Data = data });
        Assert.Contains(r.Findings, f => f.Code == "TD2104");
        Assert.DoesNotContain(r.After!.Findings, f => f.Severity >= Severity.Warning);
        AssertFortyPercentFewerSteps(r);
    }

    private static void AssertFortyPercentFewerSteps(DemoResult r)
    {
        var (before, after) = (r.Before.Metrics, r.After!.Metrics);
        // The target is the faulty run's last loss (mean of its last 20 steps); the fix must get there, measured in steps.
        Assert.Equal(before["finalLoss"], before["targetLoss"]);
        Assert.True(double.IsFinite(after["stepsToTarget"]), "the fix never reached the faulty run's last loss");
        Assert.True(after["fewerStepsPercent"] >= 40, $"fix: {after["stepsToTarget"]} steps to {before["targetLoss"]} vs {before["steps"]}: {after["fewerStepsPercent"]}% fewer");
        Assert.Equal(Math.Round(100 * (1 - after["stepsToTarget"] / before["steps"]), 1), after["fewerStepsPercent"]);
        Assert.True(after["finalLoss"] < before["finalLoss"]);
    }

    /// <summary>The memory-leak demo names its leak and nothing else, in both runs: its CNN's fc1 ReLU is sparse (72% zeros, units
    /// taking turns), which the dead-ReLU rule once called dead in the faulty and the fixed run.</summary>
    [Fact]
    public void Memory_leak_demo_names_the_leak_and_nothing_else()
    {
        var r = DemoCatalog.Find("memory-leak")!.Run(new DemoOptions());
        Assert.Equal(["TD6001"], r.Findings.Where(f => f.Severity >= Severity.Warning).Select(f => f.Code));
        Assert.DoesNotContain(r.After!.Findings, f => f.Severity >= Severity.Warning);
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
