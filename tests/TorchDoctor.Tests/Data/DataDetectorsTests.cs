using TorchDoctor.Observations;
using TorchDoctor.Data;
using TorchDoctor.Detectors;
using TorchDoctor.Findings;
using Xunit;

namespace TorchDoctor.Tests.Data;

public class DataDetectorsTests
{
    private static FieldObservation Image(double min, double max, double mean = 0.3, double std = 0.3, string dtype = "Float32",
        string layout = "CHW", long[]? shape = null) => new()
    {
        Split = "train", Name = "data", Role = FieldRole.Image, Present = 100, DType = dtype, Shape = shape ?? [1, 28, 28],
        Elements = 78400, Mean = mean, Std = std, Min = min, Max = max, Layout = layout, ChannelMean = [mean], ChannelStd = [std],
        IntegerDType = dtype is "Byte" or "Int32",
    };

    private static List<string> Codes(IEnumerable<Finding> f) => f.Select(x => x.Code).ToList();

    [Theory]
    [InlineData(0, 1.5, "other")]          // neither [0,1] nor above the raw threshold
    [InlineData(0, 1.0, "[0,1]")]
    [InlineData(0, 1.51, "raw 0-255")]
    [InlineData(0, 255, "raw 0-255")]
    [InlineData(0, 256, "other")]
    [InlineData(-1, 1, "[-1,1]")]
    public void Image_verdict_boundaries(double min, double max, string verdict)
    {
        var f = Image(min, max, mean: min < 0 ? 0.7 : 0.3, std: 0.3);
        Assert.Equal(verdict, DataDetectors.ImageVerdict(f));
    }

    [Fact]
    public void Normalised_verdict_needs_every_channel_near_zero_mean_unit_std()
    {
        Assert.Equal("normalised", DataDetectors.ImageVerdict(Image(-2, 3, mean: 0.5, std: 0.5)));
        Assert.Equal("other", DataDetectors.ImageVerdict(Image(-2, 3, mean: 0.51, std: 1)));
        Assert.Equal("other", DataDetectors.ImageVerdict(Image(-2, 3, mean: 0, std: 2.01)));
    }

    [Fact]
    public void Unscaled_float_pixels_give_TD3007_with_normalize_values_divided_by_255()
    {
        var f = DataDetectors.Field(Image(0, 255, mean: 72.94, std: 90.02)).Single();
        Assert.Equal("TD3007", f.Code);
        Assert.Equal("data", f.Module);
        Assert.Contains("Normalize(new double[] { 0.2860 }, new double[] { 0.3530 })", f.Advice);
    }

    [Fact]
    public void Zero_one_pixels_give_the_exact_normalize_values_only_for_the_training_split()
    {
        var f = DataDetectors.Field(Image(0, 1, mean: 0.28604, std: 0.35302)).Single();
        Assert.Equal(DataCodes.NotNormalized.Code, f.Code);
        Assert.Equal(Severity.Info, f.Severity);
        Assert.Contains("Normalize(new double[] { 0.2860 }, new double[] { 0.3530 })", f.Advice);
        Assert.Empty(DataDetectors.Field(Image(0, 1), primary: false));
        Assert.Empty(DataDetectors.Field(Image(-2, 2, mean: 0, std: 1)));
    }

    [Fact]
    public void Uint8_channels_last_images_with_the_wrong_channel_count()
    {
        var f = Image(0, 255, mean: 100, std: 50, dtype: "Byte", layout: "HWC", shape: [32, 32, 3]);
        var model = new ModelExpectations(Channels: 1, ChannelsSource: "model: conv1.in_channels");
        var codes = Codes(DataDetectors.Field(f, model));
        Assert.Equal(["TD3009", "TD3010", "TD3011"], codes);
        Assert.DoesNotContain("TD3007", codes); // TD3009's advice includes the scaling
    }

    [Fact]
    public void Non_finite_values_missing_fields_dtypes_shapes_and_constants()
    {
        var f = new FieldObservation
        {
            Split = "train", Name = "x", DType = "Float32", Shape = [4], Present = 10, Missing = 2, MissingIndices = [3, 8],
            OtherDTypes = [new ValueGroup("Float64", 1, [5])], OtherShapes = [new ValueGroup("[5]", 2, [6, 9])],
            Elements = 30, Mean = 1, Std = 0, Min = 1, Max = 1, NaN = 2, Inf = 1, NonFiniteSamples = 2, NonFiniteIndices = [1, 7],
        };
        var findings = DataDetectors.Field(f).ToList();
        Assert.Equal(["TD3002", "TD3003", "TD3004", "TD3005", "TD3006"], Codes(findings));
        Assert.Equal("3, 8", findings[0].Evidence["indices"]);
        Assert.Contains("Float64×1 at 5", findings[1].Evidence["others"]);
        Assert.Contains("[5]×2 at 6,9", findings[2].Evidence["others"]);
        Assert.Equal("1, 7", findings[3].Evidence["indices"]);
        Assert.Equal("2", findings[3].Evidence["nan"]);
    }

    private static LabelObservation Labels(Dictionary<long, long> hist, string dtype = "Int64", int? classes = 10, bool integer = true)
        => new()
        {
            Split = "train", Field = "label", DType = dtype, IntegerValued = integer, Samples = hist.Values.Sum(), Histogram = hist,
            FirstIndices = hist.ToDictionary(kv => kv.Key, kv => (IReadOnlyList<long>)[kv.Key * 100]), Classes = classes, ClassesSource = "given",
        };

    private static Dictionary<long, long> Balanced(int k, long n) => Enumerable.Range(0, k).ToDictionary(c => (long)c, _ => n);

    [Fact]
    public void Label_equal_to_the_class_count_is_out_of_range_with_its_index()
    {
        var h = Balanced(10, 100);
        h[10] = 1;
        var f = DataDetectors.Labels(Labels(h)).Single();
        Assert.Equal("TD3013", f.Code);
        Assert.Equal("1000", f.Evidence["indices"]);
        Assert.Equal("10", f.Evidence["values"]);
        Assert.Contains("0..9", f.Advice);
        var neg = Balanced(10, 100);
        neg[-1] = 3;
        Assert.Equal("TD3013", DataDetectors.Labels(Labels(neg, classes: null)).Single().Code);
        Assert.Empty(DataDetectors.Labels(Labels(Balanced(10, 100))));
    }

    [Theory]
    [InlineData("Int64", true, false)]
    [InlineData("Int32", true, true)]
    [InlineData("Float32", true, true)]
    [InlineData("Float32", false, false)] // fractional: a regression target
    public void Label_dtype(string dtype, bool integer, bool flagged)
        => Assert.Equal(flagged, DataDetectors.Labels(Labels(Balanced(10, 100), dtype, integer: integer)).Any(f => f.Code == "TD3012"));

    [Theory]
    [InlineData(300, 100, false)] // ratio 3: mildly imbalanced, not flagged
    [InlineData(301, 100, true)]
    [InlineData(100, 0, true)]    // a missing class
    public void Class_imbalance_threshold(long big, long small, bool flagged)
    {
        var h = Balanced(10, 100);
        h[0] = big;
        if (small == 0) h.Remove(9); else h[9] = small;
        Assert.Equal(flagged, DataDetectors.Labels(Labels(h)).Any(f => f.Code == "TD3014"));
    }

    [Fact]
    public void Class_balance_is_not_judged_on_too_few_samples()
    {
        var h = Balanced(10, 19);
        h[0] = 1;
        Assert.Empty(DataDetectors.Labels(Labels(h)));
        Assert.Equal("balanced", DataDetectors.BalanceVerdict(1.5));
        Assert.Equal("severely imbalanced", DataDetectors.BalanceVerdict(10.1));
    }

    [Fact]
    public void Duplicates_and_leakage()
    {
        Assert.Empty(DataDetectors.Duplicates(new DuplicateObservation("train", 0, 0, [], 0)));
        var d = DataDetectors.Duplicates(new DuplicateObservation("train", 2, 1, [(5, 1), (9, 1)], 1)).Single();
        Assert.Equal("TD3015", d.Code);
        Assert.Equal("5=1, 9=1", d.Evidence["pairs"]);
        Assert.Contains("different label", d.Message);
        var l = DataDetectors.Leakage(new LeakageObservation("test", "train", 1, [(3, 42)])).Single();
        Assert.Equal("TD3016", l.Code);
        Assert.Equal("test[3]=train[42]", l.Evidence["pairs"]);
        Assert.Empty(DataDetectors.Leakage(new LeakageObservation("test", "train", 0, [])));
    }

    [Fact]
    public void Sample_failures_are_grouped_by_message_with_every_index()
    {
        var f = DataDetectors.Failures([new("train", 4, "IOException", "gone"), new("train", 9, "IOException", "gone"), new("train", 5, "X", "other")]).ToList();
        Assert.Equal(2, f.Count);
        Assert.Equal("samples 4, 9", f[0].Module);
        Assert.Equal("sample 5", f[1].Module);
        Assert.All(f, x => Assert.Equal("TD3001", x.Code));
    }

    private static LoaderObservation Loader(long samples, int batch, bool dropLast = false, bool? shuffled = false, IReadOnlyList<long>? labels = null)
    {
        long rem = samples % batch;
        return new LoaderObservation
        {
            Samples = samples, BatchSize = batch, DropLast = dropLast, Shuffled = shuffled,
            Batches = dropLast ? samples / batch : (samples + batch - 1) / batch,
            LastBatchSize = rem == 0 ? Math.Min(batch, samples) : dropLast ? 0 : rem, LabelOrder = labels ?? [], BatchesRead = 10,
        };
    }

    [Fact]
    public void Batch_size_versus_data_set_size()
    {
        Assert.Equal(Severity.Warning, DataDetectors.Loader(Loader(64, 64)).Single(f => f.Code == "TD3017").Severity);
        Assert.Equal(Severity.Error, DataDetectors.Loader(Loader(50, 64, dropLast: true)).Single(f => f.Code == "TD3017").Severity);
        Assert.DoesNotContain(DataDetectors.Loader(Loader(65, 64)), f => f.Code == "TD3017");
    }

    [Theory]
    [InlineData(1000, 64, false, 0)]        // 1000 = 15×64 + 40: 40 ≥ 16, fine
    [InlineData(975, 64, false, 1)]         // last batch 15 < 16: info
    [InlineData(961, 64, false, 2)]         // last batch 1: warning (BatchNorm)
    [InlineData(961, 64, true, 0)]          // dropped
    public void Last_batch(long samples, int batch, bool dropLast, int level)
    {
        var f = DataDetectors.Loader(Loader(samples, batch, dropLast)).SingleOrDefault(x => x.Code == "TD3018");
        if (level == 0) Assert.Null(f);
        else Assert.Equal(level == 1 ? Severity.Info : Severity.Warning, f!.Severity);
    }

    [Fact]
    public void Sorted_labels_without_shuffling()
    {
        var sorted = Enumerable.Range(0, 640).Select(i => (long)(i / 64)).ToList(); // runs of 64
        var f = DataDetectors.Loader(Loader(640, 32, labels: sorted)).Single(x => x.Code == "TD3019");
        Assert.Contains("batches 0–1 only label 0", f.Message);
        Assert.Equal("64", f.Evidence["meanLabelRun"]);
        Assert.DoesNotContain(DataDetectors.Loader(Loader(640, 32, shuffled: true, labels: sorted)), x => x.Code == "TD3019");
        Assert.DoesNotContain(DataDetectors.Loader(Loader(640, 32, labels: sorted) with { Training = false }), x => x.Code == "TD3019");
        var rng = new Random(1);
        var random = Enumerable.Range(0, 640).Select(_ => (long)rng.Next(10)).ToList();
        Assert.DoesNotContain(DataDetectors.Loader(Loader(640, 32, labels: random)), x => x.Code == "TD3019");
        // Runs of 7 (below the minimum of 8) are not called sorted.
        var short7 = Enumerable.Range(0, 700).Select(i => (long)(i / 7 % 10)).ToList();
        Assert.DoesNotContain(DataDetectors.Loader(Loader(700, 32, labels: short7)), x => x.Code == "TD3019");
        var runs8 = Enumerable.Range(0, 800).Select(i => (long)(i / 8 % 10)).ToList();
        Assert.Contains(DataDetectors.Loader(Loader(800, 32, labels: runs8)), x => x.Code == "TD3019");
    }

    [Fact]
    public void Batch_shapes_and_collate_failures()
    {
        var o = Loader(640, 32) with
        {
            BatchShapes = new Dictionary<string, IReadOnlyList<ValueGroup>> { ["data"] = [new("[1, 28, 28] Float32", 3, [0, 1, 2]), new("[1, 32, 32] Float32", 1, [3])] },
            BatchFailure = (4, "RuntimeException: Sizes of tensors must match"),
        };
        var f = DataDetectors.Loader(o).Where(x => x.Code == "TD3020").ToList();
        Assert.Equal(2, f.Count);
        Assert.Equal(Severity.Error, f[0].Severity);
        Assert.Equal(4, f[0].Step);
        Assert.Equal(3, f[1].Step);
    }

    [Theory]
    [InlineData(19, 81, null)]
    [InlineData(20, 80, Severity.Info)]
    [InlineData(50, 50, Severity.Warning)]
    public void Throughput_thresholds(double wait, double step, Severity? severity)
    {
        var f = DataDetectors.Throughput(new ThroughputObservation(10, wait, step, 1)).SingleOrDefault();
        Assert.Equal(severity, f?.Severity);
        if (f is not null) Assert.Contains("num_worker", f.Advice);
    }
}
