using System.IO.Compression;
using TorchDoctor.Inspection;
using TorchDoctor.Models;
using TorchDoctor.Porting;
using TorchSharp;
using TorchSharp.PyBridge;
using Xunit;
using static TorchSharp.torch;

namespace TorchDoctor.Tests.Porting;

internal static class PortingFixtures
{
    public static string P(string name) => Fixtures.Path(Path.Combine("porting", name));

    /// <summary>TorchVision's C# vgg11 printed once (building it takes a second or two).</summary>
    public static readonly Lazy<string> Vgg11Text = new(() =>
    {
        using var m = torchvision.models.vgg11();
        return ModelPrinter.Print(m);
    });

    /// <summary>A scratch file that deletes itself.</summary>
    public sealed class TempFile : IDisposable
    {
        public TempFile(string extension = ".pt") => Path = System.IO.Path.Combine(System.IO.Path.GetTempPath(), "td-" + Guid.NewGuid().ToString("N") + extension);
        public string Path { get; }
        public void Dispose() { try { File.Delete(Path); } catch (IOException) { } }
    }

    /// <summary>resnet18_periodic.pt.br decompressed: the torch.save file PyTorch wrote (47 MB).</summary>
    public static TempFile Resnet18Checkpoint()
    {
        var t = new TempFile();
        using var input = new BrotliStream(File.OpenRead(P("resnet18_periodic.pt.br")), CompressionMode.Decompress);
        using var output = File.Create(t.Path);
        input.CopyTo(output);
        return t;
    }

    /// <summary>Writes a torch.save-format file from C# (PyBridge's pickler), for cases Python did not make.</summary>
    public static TempFile Write(IEnumerable<(string Key, Tensor Value)> entries)
    {
        var t = new TempFile();
        var d = new System.Collections.Specialized.OrderedDictionary();
        foreach (var (k, v) in entries) d[k] = v;
        PyTorchPickler.PickleStateDict(t.Path, d);
        return t;
    }
}

public class CheckpointTests
{
    private static readonly string[] PortNetOrder =
    [
        "stem.0.weight", "stem.1.weight", "stem.1.bias", "stem.1.running_mean", "stem.1.running_var", "stem.1.num_batches_tracked",
        "block1.conv.weight", "block1.bn.weight", "block1.bn.bias", "block1.bn.running_mean", "block1.bn.running_var", "block1.bn.num_batches_tracked",
    ];

    [Fact]
    public void A_faithful_port_compares_clean_and_loads_every_tensor()
    {
        using var model = new PortNet();
        using var file = PyTorchFiles.ReadStateDict(PortingFixtures.P("portnet.pt"));
        Assert.True(file.OrderKnown);
        Assert.Equal(PortNetOrder, file.Tensors.Take(PortNetOrder.Length).Select(kv => kv.Key));
        var c = StateDictComparer.Compare(model, file);
        Assert.True(c.Clean);
        Assert.Equal((26, 26, 26, true), (c.CheckpointCount, c.ModelCount, c.LoadedCount, c.LoadedStrict));
        Assert.Null(c.SuggestedMapping);
        var loaded = model.state_dict()["block2.bn.running_var"];
        var saved = file.Tensors.Single(kv => kv.Key == "block2.bn.running_var").Value;
        Assert.True(loaded.allclose(saved));
        Assert.Equal(PortNetOrder, StateDictComparer.ModelTensors(model).Take(PortNetOrder.Length).Select(t => t.Key));
    }

    [Fact]
    public void Safetensors_files_are_read_too()
    {
        using var model = new PortNet();
        using var file = PyTorchFiles.ReadStateDict(PortingFixtures.P("portnet.safetensors"));
        Assert.Equal("safetensors", file.Format);
        Assert.False(file.OrderKnown);
        Assert.True(StateDictComparer.Compare(model, file).Clean);
    }

    [Theory]
    [InlineData("portnet.pt")]
    [InlineData("portnet.safetensors")]
    public void Broken_port_keys_get_a_mapping_for_the_renamed_block(string checkpoint)
    {
        using var model = new BrokenPorts.PortNet();
        using var file = PyTorchFiles.ReadStateDict(PortingFixtures.P(checkpoint));
        var c = StateDictComparer.Compare(model, file);
        Assert.False(c.Clean);
        Assert.Equal(["stage2.conv.weight", "stage2.bn.weight", "stage2.bn.bias", "stage2.bn.running_mean", "stage2.bn.running_var"], c.MissingKeys);
        Assert.Equal(["stage2.bn.num_batches_tracked"], c.ToleratedMissingKeys);
        Assert.Equal(11, c.UnexpectedKeys.Count);
        var map = Assert.IsType<KeyMapping>(c.SuggestedMapping);
        Assert.Equal([new KeyRename("block2", "stage2")], map.Rules);
        Assert.Equal(6, map.Pairs.Count);
        Assert.Empty(c.MissingAfterMapping);
        Assert.Equal(["block3.bn.bias", "block3.bn.num_batches_tracked", "block3.bn.running_mean", "block3.bn.running_var", "block3.bn.weight"], c.UnexpectedAfterMapping.Order());
        Assert.Equal((21, false), (c.LoadedCount, c.LoadedStrict));
        Assert.Contains("(\"block2\", \"stage2\"),", map.Code("portnet.pt", safetensors: false));
        Assert.Contains("Safetensors.LoadStateDict(\"x.safetensors\")", map.Code("x.safetensors", safetensors: true));
    }

    [Fact]
    public void Numbered_children_renamed_to_names_are_mapped_by_shape_and_order()
    {
        (string, long[])[] U(params (string, long[])[] x) => x;
        var unexpected = U(("features.0.weight", [8, 3, 3, 3]), ("features.0.bias", [8]), ("features.1.weight", [8]), ("features.1.bias", [8]),
            ("features.3.weight", [16, 8, 3, 3])).Select(x => (x.Item1, x.Item2)).ToList();
        var missing = U(("features.conv0.weight", [8, 3, 3, 3]), ("features.conv0.bias", [8]), ("features.norm0.weight", [8]), ("features.norm0.bias", [8]),
            ("features.conv1.weight", [16, 8, 3, 3])).Select(x => (x.Item1, x.Item2)).ToList();
        var map = StateDictComparer.SuggestMapping(unexpected, missing, ordered: true,
            missing.Select(m => m.Item1).Append("classifier.weight").ToHashSet(), unexpected.Select(u => u.Item1).Append("classifier.weight").ToList())!;
        Assert.Equal([new KeyRename("features.0", "features.conv0"), new KeyRename("features.1", "features.norm0"), new KeyRename("features.3", "features.conv1")],
            map.Rules.OrderBy(r => r.From).ToList());
        Assert.Equal("features.norm0.bias", map.Apply("features.1.bias"));
        Assert.Equal("classifier.weight", map.Apply("classifier.weight"));
    }

    [Fact]
    public void A_dataparallel_prefix_is_mapped_away()
    {
        using var model = new PortNet();
        using var tmp = PortingFixtures.Write(StateDictComparer.ModelTensors(model).Select(t => ("module." + t.Key, t.Tensor)));
        using var file = PyTorchFiles.ReadStateDict(tmp.Path);
        var c = StateDictComparer.Compare(model, file);
        Assert.Equal([new KeyRename("module", "")], c.SuggestedMapping!.Rules);
        Assert.Equal(26, c.LoadedCount);
        Assert.True(c.LoadedStrict);
    }

    [Fact]
    public void Shapes_dtypes_and_missing_num_batches_tracked()
    {
        using var model = new PortNet();
        var entries = StateDictComparer.ModelTensors(model)
            .Where(t => !t.Key.EndsWith("num_batches_tracked", StringComparison.Ordinal))
            .Select(t => t.Key switch
            {
                "head.1.weight" => (t.Key, torch.zeros(12, 16)),
                "stem.0.weight" => (t.Key, t.Tensor.to(ScalarType.Float64)),
                _ => (t.Key, t.Tensor),
            }).ToList();
        using var tmp = PortingFixtures.Write(entries);
        using var file = PyTorchFiles.ReadStateDict(tmp.Path);
        var c = StateDictComparer.Compare(model, file);
        var shape = Assert.Single(c.ShapeMismatches);
        Assert.Equal("head.1.weight", shape.Key);
        Assert.Equal([12, 16], shape.Expected);
        Assert.Equal([10, 16], shape.Actual);
        Assert.Equal([new DTypeMismatch("stem.0.weight", ScalarType.Float64, ScalarType.Float32)], c.DTypeMismatches);
        Assert.Empty(c.MissingKeys);
        Assert.Equal(4, c.ToleratedMissingKeys.Count);
        Assert.Equal(21, c.LoadedCount);   // 26 minus 4 num_batches_tracked absent, minus head.1.weight of another shape
        Assert.False(c.Clean);
    }

    [Fact]
    public void A_training_checkpoint_dict_uses_its_state_dict()
    {
        using var model = new PortNet();
        using var tmp = new PortingFixtures.TempFile();
        var inner = new System.Collections.Specialized.OrderedDictionary();
        foreach (var t in StateDictComparer.ModelTensors(model)) inner[t.Key] = t.Tensor;
        var outer = new System.Collections.Specialized.OrderedDictionary { ["model"] = inner, ["epoch"] = 3 };
        PyTorchPickler.PickleStateDict(tmp.Path, outer);
        using var file = PyTorchFiles.ReadStateDict(tmp.Path);
        Assert.Contains("checkpoint[\"model\"]", file.Note);
        Assert.Equal(26, file.Tensors.Count);
    }

    [Fact]
    public void Unreadable_checkpoints_get_clear_messages()
    {
        string Fail(string path) => Assert.Throws<ModelFileException>(() => PyTorchFiles.ReadStateDict(path)).Message;

        Assert.Contains("not a PyTorch file", Fail(Fixtures.Path("not_torchscript.pt")));
        Assert.Contains("no such file", Fail("/no/such/file.pt"));
        Assert.Contains("whole pickled model", Fail(PortingFixtures.P("portnet_full_model.pt")));
        Assert.Contains("TorchScript archive", Fail(Fixtures.Path("tiny_cnn.pt")));

        var bytes = File.ReadAllBytes(PortingFixtures.P("portnet.pt"));
        using (var cut = new PortingFixtures.TempFile())
        {
            File.WriteAllBytes(cut.Path, bytes[..(bytes.Length / 2)]);
            Assert.Contains("truncated or damaged", Fail(cut.Path));
        }
        var st = File.ReadAllBytes(PortingFixtures.P("portnet.safetensors"));
        using (var cut = new PortingFixtures.TempFile(".safetensors"))
        {
            File.WriteAllBytes(cut.Path, st[..(st.Length / 2)]);
            Assert.Contains("truncated", Fail(cut.Path));
        }
        using (var empty = new PortingFixtures.TempFile())
        {
            File.WriteAllBytes(empty.Path, []);
            Assert.Contains("empty", Fail(empty.Path));
        }
        using (var legacy = new PortingFixtures.TempFile())
        {
            File.WriteAllBytes(legacy.Path, [0x80, 0x02, 0x8a, 0x0a, 0x6c, 0xfc, 0x9c, 0x46, 0xf9, 0x20, 0x6a, 0xa8, 0x50, 0x19, 0x2e]);
            Assert.Contains("legacy", Fail(legacy.Path));
        }
    }

    [Fact]
    public void References_hold_input_output_and_layers()
    {
        using var r = PyTorchFiles.ReadReference(PortingFixtures.P("portnet_ref.pt"));
        Assert.Equal([1, 3, 12, 12], Assert.Single(r.Inputs).shape);
        Assert.Equal([1, 10], Assert.Single(r.Outputs).shape);
        Assert.Equal(20, r.Layers.Count);
        Assert.Equal([1, 16, 6, 6], r.Layers["block1.conv"].shape);
        var e = Assert.Throws<ModelFileException>(() => PyTorchFiles.ReadReference(PortingFixtures.P("portnet.pt")));
        Assert.Contains("\"input\" and \"output\"", e.Message);
    }

    [Fact]
    public void Pickle_strings_come_out_in_stream_order()
    {
        using var zip = ZipFile.OpenRead(PortingFixtures.P("portnet.pt"));
        using var s = zip.Entries.Single(e => e.FullName.EndsWith("data.pkl", StringComparison.Ordinal)).Open();
        using var ms = new MemoryStream();
        s.CopyTo(ms);
        var keys = PyTorchFiles.PickleStrings(ms.ToArray()).Where(x => x.Contains('.') && !x.StartsWith("torch", StringComparison.Ordinal) && !x.StartsWith("collections", StringComparison.Ordinal)).Distinct().ToList();
        Assert.Equal(PortNetOrder, keys.Take(PortNetOrder.Length));
    }
}
