using Xunit;

namespace TorchDoctor.Tests.Porting;

public class PortingCliTests
{
    private static string P(string name) => PortingFixtures.P(name);

    [Fact]
    public void Print_writes_pytorchs_text()
    {
        var (code, output, err) = CliRunner.Run("print", "--model", "portnet");
        Assert.True(code == 0, err);
        Assert.Equal(PrinterTests.Text("portnet.txt"), output.TrimEnd('\n'));
        var (c2, o2, _) = CliRunner.Run("print", Fixtures.Path("tiny_cnn.pt"));
        Assert.Equal(0, c2);
        // A TorchScript file prints as PyTorch prints torch.jit.load's result: RecursiveScriptModule and each module's
        // original class (RecursiveScriptModule.extra_repr), read from the archive.
        Assert.Equal(string.Join("\n",
            "RecursiveScriptModule(",
            "  original_name=TinyNet",
            "  (conv): RecursiveScriptModule(original_name=Conv2d)",
            "  (relu): RecursiveScriptModule(original_name=ReLU)",
            "  (pool): RecursiveScriptModule(original_name=AdaptiveAvgPool2d)",
            "  (fc): RecursiveScriptModule(original_name=Linear)",
            ")"), o2.TrimEnd('\n'));
    }

    [Fact]
    public void Resnet18_compares_clean_through_the_cli()
    {
        using var ckpt = PortingFixtures.Resnet18Checkpoint();
        var (code, output, err) = CliRunner.Run("compare", "--model", "resnet18", "--pytorch-print", P("resnet18.txt"),
            "--pytorch", ckpt.Path, "--reference", P("resnet18_ref.pt"), "--tolerance", "1e-4", "--json");
        Assert.True(code == 0, err + output);
        var j = CliRunner.Json(output);
        Assert.True(j.GetProperty("match").GetBoolean());
        Assert.Equal(9, j.GetProperty("structure").GetArrayLength());
        Assert.All(j.GetProperty("structure").EnumerateArray(), d => Assert.False(d.GetProperty("changesComputation").GetBoolean()));
        Assert.Equal(0, j.GetProperty("missingKeys").GetArrayLength());
        Assert.Equal(0, j.GetProperty("unexpectedKeys").GetArrayLength());
        Assert.Equal(0, j.GetProperty("shapeMismatches").GetArrayLength());
        Assert.Equal(122, j.GetProperty("weightsLoaded").GetInt32());
        Assert.InRange(j.GetProperty("maxRelError").GetDouble(), 0, 1e-4);
        Assert.Equal(System.Text.Json.JsonValueKind.Null, j.GetProperty("firstDivergentLayer").ValueKind);
    }

    [Fact]
    public void Broken_port_exits_1_with_every_difference_in_json()
    {
        var (code, output, _) = CliRunner.Run("compare", "--model", "portnet-broken", "--pytorch-print", P("portnet.txt"),
            "--pytorch", P("portnet.pt"), "--reference", P("portnet_ref.pt"), "--per-layer", "--json");
        Assert.Equal(1, code);
        var j = CliRunner.Json(output);
        Assert.False(j.GetProperty("match").GetBoolean());
        var structure = j.GetProperty("structure").EnumerateArray()
            .Select(d => (d.GetProperty("path").GetString(), d.GetProperty("kind").GetString(), d.GetProperty("changesComputation").GetBoolean())).ToList();
        Assert.Equal([("block1.conv", "argument", true), ("block2", "renamed", false), ("block3.bn", "missing", true)], structure);
        Assert.Equal(5, j.GetProperty("missingKeys").GetArrayLength());
        Assert.Equal(11, j.GetProperty("unexpectedKeys").GetArrayLength());
        var rule = j.GetProperty("suggestedMapping").GetProperty("rules")[0];
        Assert.Equal(("block2", "stage2"), (rule.GetProperty("from").GetString(), rule.GetProperty("to").GetString()));
        Assert.Equal("stage2.bn.weight", j.GetProperty("suggestedMapping").GetProperty("keys").GetProperty("block2.bn.weight").GetString());
        Assert.Equal("block1.conv", j.GetProperty("firstDivergentLayer").GetString());
        Assert.True(j.GetProperty("maxRelError").GetDouble() > 1e-5);
        Assert.Contains(j.GetProperty("findings").EnumerateArray(), f => f.GetProperty("slug").GetString() == "first-divergent-layer");
    }

    [Fact]
    public void Text_report_for_a_faithful_port()
    {
        var (code, output, _) = CliRunner.Run("compare", "--model", "portnet", "--pytorch-print", P("portnet.txt"),
            "--pytorch", P("portnet.safetensors"), "--reference", P("portnet_ref.pt"), "--per-layer");
        Assert.Equal(0, code);
        Assert.Contains("Structure: the same as PyTorch's print", output);
        Assert.Contains("(safetensors, 26 tensors)", output);
        Assert.Contains("Result: the port matches.", output);
    }

    [Theory]
    [InlineData("not a checkpoint", "--pytorch", "not_torchscript.pt", "not a PyTorch file")]
    [InlineData("truncated", "--pytorch", "TRUNCATED", "truncated or damaged")]
    [InlineData("whole model", "--pytorch", "porting/portnet_full_model.pt", "whole pickled model")]
    [InlineData("wrong input layout", "--reference", "porting/portnet_ref_nhwc.pt", "cannot run on the reference input [1, 12, 12, 3]")]
    [InlineData("not print text", "--pytorch-print", "porting/portnet.pt", "binary bytes (NUL), not text")]
    [InlineData("missing file", "--reference", "porting/nope.pt", "no such file")]
    public void Bad_files_exit_2_with_one_clear_line(string what, string option, string file, string message)
    {
        _ = what;
        using var cut = new PortingFixtures.TempFile();
        string path;
        if (file == "TRUNCATED")
        {
            var bytes = File.ReadAllBytes(P("portnet.pt"));
            File.WriteAllBytes(cut.Path, bytes[..(bytes.Length * 2 / 3)]);
            path = cut.Path;
        }
        else path = Fixtures.Path(file);
        var (code, _, err) = CliRunner.Run("compare", "--model", "portnet", option, path);
        Assert.Equal(2, code);
        Assert.StartsWith("torchdoctor: ", err);
        Assert.Single(err.Trim().Split('\n'));
        Assert.Contains(message, err);
        Assert.DoesNotContain("   at ", err);
    }

    [Theory]
    [InlineData("compare", "--model", "portnet")]
    [InlineData("compare", "--pytorch", "x.pt")]
    [InlineData("compare", "--model", "nosuchmodel", "--pytorch", "x.pt")]
    [InlineData("compare", "--model", "portnet", "--pytorch", "x.pt", "--per-layer")]
    [InlineData("compare", "--model", "portnet", "--reference", "x.pt", "--tolerance", "lots")]
    [InlineData("print")]
    [InlineData("print", "--model", "portnet", "extra.pt")]
    public void Bad_usage_exits_2(params string[] args)
    {
        var (code, _, err) = CliRunner.Run(args);
        Assert.Equal(2, code);
        Assert.StartsWith("torchdoctor: ", err);
        Assert.Single(err.Trim().Split('\n'));
    }
}
