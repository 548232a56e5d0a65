using System.Diagnostics;
using TorchDoctor.Data;
using Xunit;

namespace TorchDoctor.Tests.Data;

/// <summary>The acceptance numbers on Debian's Fashion-MNIST files (skipped, with the reason, when they are absent).</summary>
public class FashionMnistTests
{
    [FashionMnistFact]
    public void Full_check_of_70000_images_matches_the_known_statistics_in_under_30_seconds()
    {
        var sw = Stopwatch.StartNew();
        using var train = FashionMnist.Load(train: true);
        using var test = FashionMnist.Load(train: false);
        var r = DatasetChecker.Check([new DataSplit("train", train), new DataSplit("test", test)], new DataCheckOptions { Classes = FashionMnist.Classes });
        sw.Stop();
        Assert.True(sw.Elapsed.TotalSeconds < 30, $"took {sw.Elapsed.TotalSeconds:0.0} s");

        Assert.Equal(60_000, r.Primary.Samples);
        Assert.Equal(10_000, r.Splits[1].Samples);
        var labels = r.Primary.Labels!;
        Assert.Equal(Enumerable.Range(0, 10).Select(c => (long)c), labels.Histogram.Keys.Order());
        Assert.All(labels.Histogram.Values, n => Assert.Equal(6_000, n));

        var data = r.Primary.Fields.Single(f => f.Name == "data");
        Assert.Equal([1L, 28, 28], data.Shape);
        Assert.Equal(0.2860, data.Mean, 4);
        Assert.Equal(0.3530, data.Std, 4);
        Assert.Equal(0.28604, data.ChannelMean[0], 5);
        Assert.Equal(0, data.NonFinite);

        Assert.Equal(0, r.Primary.Duplicates.DuplicateSamples);
        Assert.Equal(0, r.Splits[1].Duplicates.DuplicateSamples);
        Assert.Equal(0, r.Leakage.Single().Samples);

        var only = Assert.Single(r.Findings);
        Assert.Equal("TD3008", only.Code);
        Assert.Contains("Normalize(new double[] { 0.2860 }, new double[] { 0.3530 })", only.Advice);
    }

    [FashionMnistFact]
    public void Cli_json_for_a_seeded_sample()
    {
        var (code, output, err) = CliRunner.Run("check-data", "--fashion-mnist", "--sample", "2000", "--no-test", "--json");
        Assert.True(code == 0, err);
        var j = CliRunner.Json(output);
        Assert.Equal(2000, j.GetProperty("samples").GetInt64());
        Assert.Equal(10, j.GetProperty("classes").GetProperty("count").GetInt32());
        Assert.Equal("Fashion-MNIST", j.GetProperty("classes").GetProperty("source").GetString());
        Assert.Equal(2000, j.GetProperty("classes").GetProperty("histogram").EnumerateArray().Sum(x => x.GetInt64()));
        Assert.InRange(j.GetProperty("fields")[0].GetProperty("mean").GetDouble(), 0.27, 0.30);
    }
}
