using TorchDoctor.Observations;
using TorchDoctor.Reporting;
using TorchDoctor.Data;
using TorchDoctor.Findings;
using Xunit;
using static TorchSharp.torch;
using static TorchSharp.torch.nn;

namespace TorchDoctor.Tests.Data;

public class DatasetCheckerTests
{
    private static Dictionary<string, Tensor> Sample(Tensor data, long label) => new() { ["data"] = data, ["label"] = tensor(label, ScalarType.Int64) };

    [Fact]
    public void A_throwing_sample_is_reported_and_the_check_goes_on()
    {
        using var ds = new LambdaDataset(50, i => i == 17 || i == 33
            ? throw new IOException($"cannot open img_{i}.png")
            : Sample(full(new long[] { 1, 8, 8 }, 0.5f), i % 5));
        var r = DatasetChecker.Check(ds, new DataCheckOptions { Classes = 5 });
        Assert.Equal(50, r.Primary.Samples);
        Assert.Equal([17L, 33L], r.Primary.Failures.Select(f => f.Index));
        var f = r.Findings.Where(x => x.Code == "TD3001").ToList();
        Assert.Equal(2, f.Count); // two distinct messages
        Assert.Equal("sample 17", f[0].Module);
        Assert.Contains("IOException: cannot open img_17.png", f[0].Message);
        Assert.Equal(48, r.Primary.Fields.Single(x => x.Name == "data").Present);
        Assert.Equal(48, r.Primary.Labels!.Samples);
    }

    [Fact]
    public void Shape_dtype_and_missing_field_inconsistencies_name_the_first_indices()
    {
        using var ds = new LambdaDataset(30, i =>
        {
            var d = i == 4 ? zeros(1, 9, 8) : i == 11 ? zeros(new long[] { 1, 8, 8 }, ScalarType.Float64) : rand(1, 8, 8);
            var s = Sample(d, i % 3);
            if (i == 20) s.Remove("label");
            return s;
        });
        var r = DatasetChecker.Check(ds);
        var byCode = r.Findings.ToDictionary(f => f.Code);
        Assert.Contains("[1, 9, 8]×1 at 4", byCode["TD3004"].Evidence["others"]);
        Assert.Contains("Float64×1 at 11", byCode["TD3003"].Evidence["others"]);
        Assert.Equal("20", byCode["TD3002"].Evidence["indices"]);
        Assert.Equal("label", byCode["TD3002"].Module);
        Assert.Equal([1L, 8, 8], r.Primary.Fields.Single(f => f.Name == "data").Shape);
    }

    [Fact]
    public void Uint8_channels_last_images_and_int32_labels()
    {
        using var ds = new LambdaDataset(40, i => new Dictionary<string, Tensor>
        {
            ["image"] = randint(0, 256, [16, 16, 3], dtype: ScalarType.Byte),
            ["target"] = tensor((int)(i % 4), ScalarType.Int32),
        });
        var r = DatasetChecker.Check(ds);
        var img = r.Primary.Fields.Single(f => f.Name == "image");
        Assert.Equal(FieldRole.Image, img.Role);
        Assert.Equal("HWC", img.Layout);
        Assert.Equal(3, img.ChannelMean.Count);
        Assert.InRange(img.Mean, 124.0, 131.0); // uniform 0..255 over 30,720 values: 127.5 ± ~0.4
        var codes = r.Findings.Select(f => f.Code).ToList();
        Assert.Contains("TD3009", codes);
        Assert.Contains("TD3010", codes);
        Assert.Contains("TD3012", codes);
        Assert.Equal("target", r.Primary.Labels!.Field);
    }

    [Fact]
    public void Per_channel_statistics_are_exact()
    {
        // Channel 0 holds 0 and 1 alternately (mean 0.5, std 0.5); channel 1 is 0.25 everywhere; channel 2 is i/10.
        using var ds = new LambdaDataset(10, i =>
        {
            var t = zeros(3, 8, 8);
            t[0] = arange(64).remainder(2).reshape(8, 8).to_type(ScalarType.Float32);
            t[1].fill_(0.25);
            t[2].fill_(i / 10.0);
            return Sample(t, 0);
        });
        var f = DatasetChecker.Check(ds).Primary.Fields.Single(x => x.Name == "data");
        Assert.Equal("CHW", f.Layout);
        Assert.Equal(0.5, f.ChannelMean[0], 12);
        Assert.Equal(0.5, f.ChannelStd[0], 12);
        Assert.Equal(0.25, f.ChannelMean[1], 12);
        Assert.Equal(0.0, f.ChannelStd[1], 12);
        Assert.Equal(0.45, f.ChannelMean[2], 6);
        Assert.Equal(Math.Sqrt(Enumerable.Range(0, 10).Average(i => Math.Pow(i / 10.0 - 0.45, 2))), f.ChannelStd[2], 6);
        Assert.Equal(0, f.Min);
        Assert.Equal(1, f.Max);
    }

    [Fact]
    public void Duplicates_hash_the_full_content_not_a_prefix()
    {
        using var ds = new LambdaDataset(4, i =>
        {
            var t = zeros(1, 28, 28);
            if (i == 1) t[0, 27, 27] = tensor(1e-7f); // differs from 0 in the very last element only
            return Sample(t, i);
        });
        var r = DatasetChecker.Check(ds);
        Assert.Equal(2, r.Primary.Duplicates.DuplicateSamples); // samples 2 and 3 repeat sample 0; sample 1 is distinct
        Assert.Equal([(2L, 0L), (3L, 0L)], r.Primary.Duplicates.Pairs);
        Assert.Equal(2, r.Primary.Duplicates.ConflictingLabels);
    }

    [Fact]
    public void Leakage_between_splits_names_both_indices()
    {
        using var train = new LambdaDataset(20, i => Sample(full(new long[] { 1, 8, 8 }, i / 20f), i % 2));
        using var test = new LambdaDataset(5, i => Sample(full(new long[] { 1, 8, 8 }, i == 3 ? 7 / 20f : 2f + i), 0));
        var r = DatasetChecker.Check([new DataSplit("train", train), new DataSplit("test", test)]);
        var leak = r.Leakage.Single();
        Assert.Equal(1, leak.Samples);
        Assert.Equal([(3L, 7L)], leak.Pairs);
        Assert.Contains(r.Findings, f => f.Code == "TD3016" && f.Evidence["pairs"] == "test[3]=train[7]");
    }

    [Fact]
    public void Classes_and_channels_come_from_the_model()
    {
        using var model = Sequential(("conv1", Conv2d(3, 4, 3)), ("flatten", Flatten()), ("head", Linear(4 * 6 * 6, 7)));
        var m = DatasetChecker.Expectations(model);
        Assert.Equal(7, m.Classes);
        Assert.Equal("model: head.out_features", m.ClassesSource);
        Assert.Equal(3, m.Channels);
        using var ds = new LambdaDataset(10, i => Sample(rand(1, 8, 8), i == 6 ? 7 : i % 7));
        var r = DatasetChecker.Check(ds, new DataCheckOptions { Model = model });
        Assert.Contains(r.Findings, f => f.Code == "TD3011");
        var range = r.Findings.Single(f => f.Code == "TD3013");
        Assert.Equal("6", range.Evidence["indices"]);
        Assert.Contains("model: head.out_features", range.Message);
    }

    [Fact]
    public void A_seeded_random_sample_is_reproducible()
    {
        var a = DatasetChecker.SampleIndices(1000, 50, 3);
        Assert.Equal(50, a.Length);
        Assert.Equal(50, a.Distinct().Count());
        Assert.True(a.SequenceEqual(a.Order()));
        Assert.Equal(a, DatasetChecker.SampleIndices(1000, 50, 3));
        Assert.NotEqual(a, DatasetChecker.SampleIndices(1000, 50, 4));
        Assert.Equal(10, DatasetChecker.SampleIndices(10, 50, 0).Length);
        using var ds = new LambdaDataset(1000, i => Sample(rand(1, 8, 8), i % 10));
        Assert.Equal(50, DatasetChecker.Check(ds, new DataCheckOptions { MaxSamples = 50 }).Primary.Samples);
    }

    [Fact]
    public void Clean_generated_data_yields_no_finding()
    {
        var (train, val) = GeneratedData.Create(seed: 5);
        var (mean, std) = train.Statistics();
        using var t = train.Normalized(mean, std);
        using var v = val.Normalized(mean, std);
        using var model = Demos.BadDataDemo.CreateModel(train.SampleShape, train.Classes);
        var r = DatasetChecker.Check([new DataSplit("train", t), new DataSplit("validation", v)], new DataCheckOptions { Model = model });
        Assert.Empty(r.Findings);
        Assert.Equal("normalised", global::TorchDoctor.Detectors.DataDetectors.ImageVerdict(r.Primary.Fields.Single(f => f.Name == "data")));
        Assert.Equal(0, r.Primary.Fields.Single(f => f.Name == "data").Mean, 5);
        using var loader = new TorchSharp.Modules.DataLoader(t, 32, shuffle: true, seed: 1, disposeDataset: false);
        Assert.Empty(LoaderChecker.Check(loader).Findings);
    }

    [Fact]
    public void Json_contract()
    {
        using var ds = new LambdaDataset(30, i => Sample(i == 2 ? full(new long[] { 1, 8, 8 }, float.NaN) : rand(1, 8, 8), i % 3));
        var j = CliRunner.Json(Exporters.Render(DatasetChecker.Check(ds, new DataCheckOptions { Classes = 3 }), "json"));
        Assert.Equal(30, j.GetProperty("samples").GetInt64());
        var data = j.GetProperty("fields").EnumerateArray().Single(f => f.GetProperty("name").GetString() == "data");
        foreach (var k in new[] { "dtype", "shape", "mean", "std", "min", "max", "nonFinite" }) Assert.True(data.TryGetProperty(k, out _), k);
        Assert.Equal(64, data.GetProperty("nonFinite").GetInt64());
        Assert.Equal(3, j.GetProperty("classes").GetProperty("count").GetInt32());
        Assert.Equal([10, 10, 10], j.GetProperty("classes").GetProperty("histogram").EnumerateArray().Select(x => x.GetInt64()));
        Assert.Equal(0, j.GetProperty("duplicates").GetInt64());
        Assert.Equal(0, j.GetProperty("leakage").GetInt64());
        var f = j.GetProperty("findings").EnumerateArray().Single(x => x.GetProperty("code").GetString() == "TD3005");
        Assert.Equal("non-finite", f.GetProperty("slug").GetString());
        Assert.Equal("2", f.GetProperty("evidence").GetProperty("indices").GetString());
    }
}
