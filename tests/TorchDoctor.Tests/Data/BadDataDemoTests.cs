using TorchDoctor.Demos;
using Xunit;

namespace TorchDoctor.Tests.Data;

public class BadDataDemoTests
{
    [Fact]
    public void Every_injected_fault_is_found_with_its_index_and_field_and_the_fix_run_is_clean()
    {
        var options = new DemoOptions { Seed = 0 };
        var (_, _, faults) = BadDataDemo.Build(options);
        var result = new BadDataDemo().Run(options);
        var f = result.Findings;

        var nan = f.Single(x => x.Code == "TD3005");
        Assert.Equal("train:data", nan.Module);
        Assert.Equal(string.Join(", ", faults.NaNIndices), nan.Evidence["indices"]);

        var label = f.Single(x => x.Code == "TD3013");
        Assert.Equal("train:label", label.Module);
        Assert.Equal(faults.BadLabelIndex.ToString(), label.Evidence["indices"]);
        Assert.Equal(faults.BadLabel.ToString(), label.Evidence["values"]);

        var pixels = f.Single(x => x.Code == "TD3007" && x.Module == "train:data");
        Assert.Equal("raw 0-255", pixels.Evidence["verdict"]);

        var dups = f.Single(x => x.Code == "TD3015");
        Assert.Equal(faults.Duplicates.Count.ToString(), dups.Evidence["duplicates"]);
        foreach (var (i, orig) in faults.Duplicates) Assert.Contains($"{i}={orig}", dups.Evidence["pairs"]);

        var leak = f.Single(x => x.Code == "TD3016");
        Assert.Equal(faults.Leaked.Count.ToString(), leak.Evidence["samples"]);
        foreach (var (t, v) in faults.Leaked.OrderBy(p => p.ValidationIndex).Take(10))
            Assert.Contains($"validation[{v}]=train[{t}]", leak.Evidence["pairs"]);

        var sorted = f.Single(x => x.Code == "TD3019");
        Assert.Equal("loader", sorted.Module);

        Assert.Equal(["TD3005", "TD3007", "TD3013", "TD3015", "TD3016", "TD3019"], f.Select(x => x.Code).Distinct().Order());
        Assert.NotNull(result.After);
        Assert.Empty(result.After!.Findings);
        Assert.True(result.Before.Metrics["failedSteps"] > 0);
        Assert.True(result.After.Metrics["validationAccuracy"] >= 0.85, $"after: {result.After.Metrics["validationAccuracy"]}");
        Assert.True(result.After.Metrics["validationAccuracy"] > result.Before.Metrics["validationAccuracy"] + 0.5);
    }

    [Fact]
    public void The_demo_runs_from_the_cli_with_json()
    {
        var (code, output, err) = CliRunner.Run("demo", "bad-data", "--json", "--steps", "60");
        Assert.True(code == 0, err);
        var j = CliRunner.Json(output);
        Assert.Equal("bad-data", j.GetProperty("case").GetString());
        Assert.Contains(j.GetProperty("findings").EnumerateArray(), x => x.GetProperty("code").GetString() == "TD3016");
        Assert.Empty(j.GetProperty("after").GetProperty("findings").EnumerateArray());
    }
}
