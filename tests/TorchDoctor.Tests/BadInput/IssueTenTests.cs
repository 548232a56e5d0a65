using System.Globalization;
using TorchDoctor.Data;
using TorchDoctor.Detectors;
using TorchDoctor.Inspection;
using TorchDoctor.Models;
using TorchDoctor.Porting;
using TorchDoctor.Tests.Porting;
using TorchDoctor.Training;
using TorchSharp;
using Xunit;
using static TorchSharp.torch;

namespace TorchDoctor.Tests.BadInput;

/// <summary>One test per numbered problem of issue 10 ("bad input never lies"): each reproduces the problem and holds the fix.</summary>
public class IssueTenTests
{
    private static void OneLine(string err)
    {
        Assert.StartsWith("torchdoctor: ", err);
        Assert.Single(err.Trim().Split('\n'));
        Assert.DoesNotContain("   at ", err);
    }

    private static PortingFixtures.TempFile Reference(Tensor input, Tensor output)
        => PortingFixtures.Write([("input", input), ("output", output)]);

    [Fact]
    public void P01_a_NaN_reference_or_NaN_input_is_a_mismatch_never_a_match()
    {
        using var x = rand(1, 3, 12, 12);
        using var nanOut = full(new long[] { 1, 10 }, double.NaN);
        using var refFile = Reference(x, nanOut);
        var (code, output, _) = CliRunner.Run("compare", "--model", "portnet", "--reference", refFile.Path, "--json");
        Assert.Equal(1, code);
        var j = CliRunner.Json(output);
        Assert.False(j.GetProperty("match").GetBoolean());
        Assert.Equal(10, j.GetProperty("nonFiniteExpected").GetInt64());
        var (code2, text, _) = CliRunner.Run("compare", "--model", "portnet", "--reference", refFile.Path);
        Assert.Equal(1, code2);
        Assert.Contains("NaN", text);
        Assert.Contains("the port differs", text);
        Assert.DoesNotContain("the outputs match", text);

        using var nanIn = full(new long[] { 1, 3, 12, 12 }, double.NaN);
        using var refNaN = Reference(nanIn, nanOut);
        var (code3, text3, _) = CliRunner.Run("compare", "--model", "portnet", "--reference", refNaN.Path);
        Assert.Equal(1, code3);
        Assert.Contains("reference input holds", text3);
        Assert.DoesNotContain("the port matches", text3);
    }

    [Fact]
    public void P02_a_checkpoint_with_NaN_weights_is_a_finding()
    {
        using var file = PyTorchFiles.ReadStateDict(PortingFixtures.P("portnet.pt"));
        var entries = file.Tensors.Select(kv => (kv.Key, kv.Key == "head.1.weight" ? full_like(kv.Value, double.NaN) : kv.Value)).ToList();
        using var bad = PortingFixtures.Write(entries);
        var (code, output, _) = CliRunner.Run("compare", "--model", "portnet", "--pytorch", bad.Path, "--json");
        Assert.Equal(1, code);
        var j = CliRunner.Json(output);
        Assert.False(j.GetProperty("match").GetBoolean());
        var f = j.GetProperty("findings").EnumerateArray().Single(x => x.GetProperty("code").GetString() == "TD4016");
        Assert.Equal("head.1.weight", f.GetProperty("module").GetString());
        Assert.Equal(160, j.GetProperty("nonFiniteWeights").GetProperty("head.1.weight").GetInt64());
    }

    [Fact]
    public void P03_splits_that_disagree_in_shape_or_labels_are_findings()
    {
        using var d = new TempDir();
        var train = d.Write("train.csv", "a,b,y\n1,2,0\n3,4,1\n5,6,0\n");
        var test = d.Write("test.csv", string.Join(",", Enumerable.Range(0, 100).Select(i => "f" + i)) + ",y\n" +
            string.Join("\n", Enumerable.Range(0, 3).Select(r => string.Join(",", Enumerable.Range(0, 100).Select(i => (i + r).ToString(CultureInfo.InvariantCulture))) + "," + (r + 5))) + "\n");
        var (code, output, _) = CliRunner.Run("check-data", "--csv", train, "--test-csv", test, "--json");
        Assert.Equal(1, code);
        var codes = CliRunner.Json(output).GetProperty("findings").EnumerateArray().Where(x => x.GetProperty("code").GetString() == "TD3025")
            .Select(x => x.GetProperty("message").GetString()!).ToList();
        Assert.Contains(codes, m => m.Contains("[100]") && m.Contains("[2]"));
        Assert.Contains(codes, m => m.Contains("5, 6, 7"));

        var (ti, tl) = BadFiles.Idx(d, "train", 20, 28, 28, i => i % 10);
        var (vi, vl) = BadFiles.Idx(d, "test", 20, 14, 14, i => i % 20);
        var (code2, output2, _) = CliRunner.Run("check-data", "--idx", ti, tl, "--test-idx", vi, vl, "--json");
        Assert.Equal(1, code2);
        var msgs = CliRunner.Json(output2).GetProperty("findings").EnumerateArray().Where(x => x.GetProperty("code").GetString() == "TD3025")
            .Select(x => x.GetProperty("message").GetString()!).ToList();
        Assert.Contains(msgs, m => m.Contains("[1, 14, 14]") && m.Contains("[1, 28, 28]"));
        Assert.Contains(msgs, m => m.Contains("10, 11"));
    }

    [Fact]
    public void P04_Normalize_is_never_suggested_with_a_zero_std_or_NaN()
    {
        var constant = DataDetectors.NormalizeCall([0.5, 0.2, 0.3], [0.1, 0.0, 0.2]);
        Assert.DoesNotContain("Normalize(", constant);
        Assert.Contains("constant channel(s) 1", constant);
        Assert.Contains("divide by zero", constant);
        var nan = DataDetectors.NormalizeCall([double.NaN], [double.NaN]);
        Assert.DoesNotContain("Normalize(", nan);
        Assert.Contains("non-finite", nan);
        Assert.StartsWith("torchvision.transforms.Normalize(", DataDetectors.NormalizeCall([0.5], [0.25]));
    }

    [Theory]
    [InlineData("100000000")]
    [InlineData("1000000000000")]
    [InlineData("1e30")]
    [InlineData("4611686018427387904")]
    public void P05_huge_labels_are_a_finding_and_cost_no_memory(string label)
    {
        using var d = new TempDir();
        var csv = d.Write("l.csv", $"a,b,y\n1,2,0\n3,4,{label}\n5,6,1\n7,8,2\n");
        foreach (var json in new[] { true, false })
        {
            long before = GC.GetTotalAllocatedBytes(precise: true);
            var (code, output, err) = json ? CliRunner.Run("check-data", "--csv", csv, "--json") : CliRunner.Run("check-data", "--csv", csv);
            long allocated = GC.GetTotalAllocatedBytes(precise: true) - before;
            Assert.True(code == 1, err);
            Assert.Contains("TD3022", output);
            Assert.DoesNotContain("9223372036854775807", output);
            Assert.True(allocated < 200L << 20, $"allocated {allocated:N0} bytes");
        }
    }

    [Fact]
    public void P05_an_int32_IDX_label_of_2e9_is_fast_and_small()
    {
        using var d = new TempDir();
        var (im, lb) = BadFiles.Idx(d, "x", 50, 8, 8, i => i == 3 ? 2_000_000_000 : i % 5, labelType: IdxElementType.Int32);
        var sw = System.Diagnostics.Stopwatch.StartNew();
        long before = GC.GetTotalAllocatedBytes(precise: true);
        var (code, output, _) = CliRunner.Run("check-data", "--idx", im, lb);
        long allocated = GC.GetTotalAllocatedBytes(precise: true) - before;
        Assert.Equal(1, code);
        Assert.Contains("TD3022", output);
        Assert.True(sw.Elapsed.TotalSeconds < 10, $"{sw.Elapsed.TotalSeconds:0.0} s");
        Assert.True(allocated < 200L << 20, $"allocated {allocated:N0} bytes");
    }

    [Fact]
    public void P06_inputs_too_large_to_allocate_exit_2_with_the_bytes()
    {
        var (code, _, err) = CliRunner.Run("summary", "--model", "mlp", "--input", "100000000000,784");
        Assert.Equal(2, code);
        OneLine(err);
        Assert.Contains("TiB", err);
        Assert.Contains("--max-memory", err);
        var (code2, _, err2) = CliRunner.Run("summary", "--model", "resnet18", "--input", "1,3,50000,50000", "--max-memory", "8G");
        Assert.Equal(2, code2);
        OneLine(err2);
        Assert.Contains("28.07 GiB", err2);
        // Memory before work: a valid but heavy pass is refused with the estimate.
        var (code3, _, err3) = CliRunner.Run("summary", "--model", "resnet18", "--input", "256,3,224,224", "--max-memory", "2G", "--no-measure");
        Assert.Equal(2, code3);
        OneLine(err3);
        Assert.Contains("forward+backward", err3);
    }

    [Fact]
    public void P07_a_huge_image_is_refused_from_its_header_before_decoding()
    {
        using var d = new TempDir();
        d.Write("imgs/a/ok.png", BadFiles.Png(8, 8));
        d.Write("imgs/a/ok2.png", BadFiles.Png(8, 8, 30));
        d.Write("imgs/b/huge.png", BadFiles.HugePngHeader(20000, 20000));
        d.Write("imgs/b/ok3.png", BadFiles.Png(8, 8, 60));
        var sw = System.Diagnostics.Stopwatch.StartNew();
        var (code, output, err) = CliRunner.Run("check-data", "--images", d.File("imgs"));
        Assert.True(sw.Elapsed.TotalSeconds < 10);
        Assert.True(code == 1, err);
        Assert.Contains("beyond the limit", output);
        Assert.Contains("--max-image-pixels", output);
    }

    [Theory]
    [InlineData("--batch-dim", "-1")]
    [InlineData("--batch-dim", "10")]
    public void P08_bad_batch_dim_is_usage_not_internal_error(string option, string value)
    {
        var (code, _, err) = CliRunner.Run("summary", "--model", "mlp", "--input", "784", option, value);
        Assert.Equal(2, code);
        OneLine(err);
        Assert.Contains("--batch-dim", err);
    }

    [Fact]
    public void P08_long_dtype_with_a_huge_input_exits_2()
    {
        var (code, _, err) = CliRunner.Run("summary", "--model", "text-lstm", "--input", "2000000000,4000", "--dtype", "long");
        Assert.Equal(2, code);
        OneLine(err);
    }

    [Fact]
    public void P08_a_state_dict_of_strided_views_loads_with_the_values_python_saved()
    {
        // Fixtures from tools/make_view_fixtures.py (PyTorch 1.13): torch.save writes slices and transposes as views
        // into their base tensor's storage (offset + strides); PyBridge failed on them ("setStorage … out of bounds").
        using (var small = PyTorchFiles.ReadStateDict(Fixtures.Path("porting/strided_view.pt")))
        {
            var t = small.Tensors.ToDictionary(kv => kv.Key, kv => kv.Value);
            Assert.Equal(["w", "b"], small.Tensors.Select(kv => kv.Key));
            Assert.Equal([4L, 3], t["w"].shape);
            Assert.Equal([0f, 2, 4, 6, 8, 10, 12, 14, 16, 18, 20, 22], t["w"].contiguous().data<float>().ToArray());
            Assert.Equal([6f, 7, 8, 9, 10, 11], t["b"].data<float>().ToArray());
        }
        // PortNet's state_dict with a column slice, an offset row, a permuted view and two tensors sharing one storage:
        // every value equals the contiguous file's.
        using (var views = PyTorchFiles.ReadStateDict(Fixtures.Path("porting/portnet_views.pt")))
        using (var plain = PyTorchFiles.ReadStateDict(Fixtures.Path("porting/portnet.pt")))
        {
            Assert.Equal(plain.Tensors.Select(kv => kv.Key), views.Tensors.Select(kv => kv.Key));
            var expected = plain.Tensors.ToDictionary(kv => kv.Key, kv => kv.Value);
            foreach (var (key, v) in views.Tensors)
            {
                Assert.Equal(expected[key].shape, v.shape);
                Assert.True(expected[key].eq(v).all().item<bool>(), key);
            }
        }
        // Both porting paths that read torch.save files: the checkpoint (--pytorch) and the reference (--reference).
        var (code, output, err) = CliRunner.Run("compare", "--model", "portnet", "--pytorch", Fixtures.Path("porting/portnet_views.pt"),
            "--reference", Fixtures.Path("porting/portnet_ref.pt"));
        Assert.True(code == 0, err + output);
        Assert.Contains("Loaded all 26 tensors", output);
        var (code2, output2, err2) = CliRunner.Run("compare", "--model", "portnet", "--pytorch", Fixtures.Path("porting/portnet.pt"),
            "--reference", Fixtures.Path("porting/portnet_ref_views.pt"));
        Assert.True(code2 == 0, err2 + output2);
        Assert.Contains("max abs error 0,", output2);
    }

    [Fact]
    public void P08_a_view_past_the_end_of_its_storage_exits_2_with_one_line()
    {
        // strided_view.pt with its storage cut to 10 of its 24 floats (a valid zip: the CRCs are recomputed), so the
        // views point past the data: no crash, no wrong numbers, exit 2 naming the file.
        using var d = new TempDir();
        var cut = d.File("cut_view.pt");
        using (var src = System.IO.Compression.ZipFile.OpenRead(Fixtures.Path("porting/strided_view.pt")))
        using (var dst = System.IO.Compression.ZipFile.Open(cut, System.IO.Compression.ZipArchiveMode.Create))
            foreach (var e in src.Entries)
            {
                using var input = e.Open();
                using var ms = new MemoryStream();
                input.CopyTo(ms);
                var bytes = ms.ToArray();
                if (e.FullName.EndsWith("/data/0", StringComparison.Ordinal)) bytes = bytes[..40];
                using var output = dst.CreateEntry(e.FullName, System.IO.Compression.CompressionLevel.NoCompression).Open();
                output.Write(bytes);
            }
        foreach (var args in new[] { new[] { "compare", "--model", "portnet", "--pytorch", cut }, ["compare", "--model", "portnet", "--reference", cut] })
        {
            var (code, _, err) = CliRunner.Run(args);
            Assert.Equal(2, code);
            OneLine(err);
            Assert.Contains("cut_view.pt", err);
        }
    }

    [Fact]
    public void P09_TorchScript_errors_show_the_real_error()
    {
        var (code, output, err) = CliRunner.Run("summary", Fixtures.Path("bad/raises.pt"), "--input", "1,1,8,8", "--json");
        Assert.Equal(3, code);
        Assert.Contains("the input is not normalised", CliRunner.Json(output).GetProperty("error").GetProperty("rule").GetString());
        Assert.Contains("the input is not normalised", err);
        var (code2, output2, _) = CliRunner.Run("summary", Fixtures.Path("bad/mmfail.pt"), "--input", "1,1,8,8", "--json");
        Assert.Equal(3, code2);
        Assert.Contains("(1x4 and 7x7)", CliRunner.Json(output2).GetProperty("error").GetProperty("message").GetString());
        var (code3, output3, _) = CliRunner.Run("summary", Fixtures.Path("bad/dictret.pt"), "--input", "1,1,8,8", "--json");
        Assert.Equal(3, code3);
        var rule3 = CliRunner.Json(output3).GetProperty("error").GetProperty("rule").GetString();
        Assert.Contains("dicts", rule3);
        Assert.DoesNotContain("libtorch said: ArgumentOutOfRange", output3);
        var (code4, output4, _) = CliRunner.Run("summary", Fixtures.Path("tiny_cnn.pt"), "--input", "1,1,8,8", "--input", "1,1,8,8", "--json");
        Assert.Equal(3, code4);
        var rule4 = CliRunner.Json(output4).GetProperty("error").GetProperty("rule").GetString();
        Assert.Contains("takes at most 1 input(s), but 2 were given", rule4);
        Assert.DoesNotContain("Received: --", output4);
    }

    [Fact]
    public void P10_messages_name_the_real_problem()
    {
        var (c1, _, e1) = CliRunner.Run("frobnicate");
        Assert.Equal(2, c1);
        OneLine(e1);
        Assert.Contains("unknown command 'frobnicate'", e1);
        using var d = new TempDir();
        var (c2, _, e2) = CliRunner.Run("summary", d.Path, "--input", "1,1,8,8");
        Assert.Equal(2, c2);
        Assert.Contains("is a folder", e2);
        var empty = d.Write("empty.pt", []);
        var (c3, _, e3) = CliRunner.Run("summary", empty, "--input", "1,1,8,8");
        Assert.Equal(2, c3);
        Assert.Contains("empty (0 bytes)", e3);
        var (c4, _, e4) = CliRunner.Run("check-data", "--idx", "a.gz");
        Assert.Equal(2, c4);
        OneLine(e4);
        Assert.Contains("two files", e4);
        // A closed standard output: one line, exit 2, not "Access to the path is denied".
        var closed = new StreamWriter(new MemoryStream());
        closed.Dispose();
        var err = new StringWriter();
        var code = new TorchDoctor.Cli.CliApp(new TorchDoctor.Cli.GuardedWriter(closed, "standard output"), err).Run(["models"]);
        Assert.Equal(2, code);
        OneLine(err.ToString());
        Assert.Contains("cannot write to standard output", err.ToString());
    }

    [Fact]
    public void P11_csv_accepts_every_spelling_pandas_and_numpy_write()
    {
        using var d = new TempDir();
        var csv = d.Write("inf.csv", "a,b,y\n1,inf,0\n2,-inf,1\n3,Inf,0\n4,+inf,1\n5,nan,0\n6,NaN,1\n7,Infinity,0\n8,-Infinity,1\n9,,0\n10,1,1\n");
        var (code, output, err) = CliRunner.Run("check-data", "--csv", csv, "--json");
        Assert.True(code == 1, err);
        var f = CliRunner.Json(output).GetProperty("fields").EnumerateArray().Single(x => x.GetProperty("name").GetString() == "features");
        Assert.Equal(6, f.GetProperty("inf").GetInt64());
        Assert.Equal(3, f.GetProperty("nan").GetInt64());
    }

    [Fact]
    public void P12_garbage_is_refused_not_accepted()
    {
        foreach (var cols in new[] { "", ",," })
        {
            var (c, _, e) = CliRunner.Run("summary", "--model", "mlp", "--columns", cols);
            Assert.Equal(2, c);
            Assert.Contains("names no column", e);
        }
        using var d = new TempDir();
        var (im, lb) = BadFiles.Idx(d, "g", 10, 4, 4, i => i % 2, gzip: true);
        var bytes = File.ReadAllBytes(im);
        var cut = d.Write("cut.gz", bytes[..^8]);
        var ex = Assert.Throws<DataFileException>(() => IdxReader.Read(cut));
        Assert.Contains("trailer", ex.Message);
        Assert.Throws<ArgumentOutOfRangeException>(() => new TorchDoctor.Reporting.SummaryTextExporter(new TorchDoctor.Reporting.SummaryExportSettings { Depth = -5 }));
        using (var model = nn.Linear(2, 1))
        using (var doctor = Doctor.Attach(model))
        {
            doctor.BeginStep();
            using var emptyLoss = zeros(0);
            var e = Assert.Throws<ArgumentException>(() => doctor.AfterBackward(emptyLoss));
            Assert.Contains("empty", e.Message);
        }
        var ts = File.ReadAllBytes(Fixtures.Path("tiny_cnn.pt"));
        int mid = ts.Length / 2;
        for (int i = mid; i < mid + 100; i++) ts[i] ^= 0xFF;
        var flipped = d.Write("flipped.pt", ts);
        var (c2, _, e2) = CliRunner.Run("summary", flipped, "--input", "1,1,8,8");
        Assert.Equal(2, c2);
        OneLine(e2);
        Assert.True(e2.Contains("CRC", StringComparison.Ordinal) || e2.Contains("damaged", StringComparison.Ordinal), e2);
    }

    [Fact]
    public void P13_deeply_nested_print_text_is_refused_fast_and_shallow_text_parses_in_linear_time()
    {
        using var d = new TempDir();
        var deep = d.Write("deep.txt", BadFiles.NestedPrint(3000));
        var sw = System.Diagnostics.Stopwatch.StartNew();
        var (code, _, err) = CliRunner.Run("compare", "--model", "mlp", "--pytorch-print", deep);
        Assert.True(sw.Elapsed.TotalSeconds < 10, $"{sw.Elapsed.TotalSeconds:0.0} s");
        Assert.Equal(2, code);
        OneLine(err);
        Assert.Contains("256 levels", err);
        sw.Restart();
        var p = PrintParser.Parse(BadFiles.NestedPrint(PrintParser.MaxDepth - 1));
        Assert.True(sw.Elapsed.TotalSeconds < 5, $"{sw.Elapsed.TotalSeconds:0.0} s");
        Assert.Equal("Net", p.TypeName);
    }

    [Fact]
    public void P14_null_arguments_are_named_and_ToString_is_culture_invariant()
    {
        using var m = nn.Linear(2, 1);
        Assert.Throws<ArgumentNullException>("options", () => ModelSummary.Run(m, (SummaryOptions)null!));
        Assert.Throws<ArgumentNullException>("options", () => ModelSummary.Run(m, new SummaryOptions { InputShapes = null! }));
        var culture = CultureInfo.CurrentCulture;
        try
        {
            // de-DE's decimal comma (the test host may run in globalization-invariant mode, without de-DE itself).
            var comma = (CultureInfo)CultureInfo.InvariantCulture.Clone();
            comma.NumberFormat.NumberDecimalSeparator = ",";
            comma.NumberFormat.PercentDecimalSeparator = ",";
            CultureInfo.CurrentCulture = comma;
            var clipper = new GradientClipper(m.parameters(), 0.0123);
            using var x = ones(4, 2);
            using var loss = m.call(x).sum();
            loss.backward();
            clipper.Clip();
            var text = clipper.ToString();
            Assert.Contains("0.0123", text);
            Assert.DoesNotContain("0,0123", text);
        }
        finally
        {
            CultureInfo.CurrentCulture = culture;
        }
    }
}
