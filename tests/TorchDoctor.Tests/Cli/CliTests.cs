using Xunit;

namespace TorchDoctor.Tests.Cli;

public class CliTests
{
    [Fact]
    public void Failed_forward_exits_3_with_an_error_object()
    {
        var (code, output, err) = CliRunner.Run("summary", "--model", "broken-mlp", "--input", "4,10", "--json");
        Assert.Equal(3, code);
        var e = CliRunner.Json(output).GetProperty("error");
        Assert.Equal("fc2", e.GetProperty("module").GetString());
        Assert.Equal([4, 20], e.GetProperty("inputShapes")[0].EnumerateArray().Select(x => x.GetInt64()));
        Assert.Contains("in_features=20", e.GetProperty("fix").GetString());
        Assert.Equal("30", e.GetProperty("configuration").GetProperty("in_features").GetString());
        Assert.Contains("fc2", err);
    }

    /// <summary>Output that is not a terminal has no padding at the ends of lines (Spectre pads table lines to the width).</summary>
    [Theory]
    [InlineData("demo")]
    [InlineData("summary", "--model", "mlp")]
    public void Piped_output_has_no_trailing_spaces(params string[] args)
    {
        var (code, output, _) = CliRunner.Run(args);
        Assert.Equal(0, code);
        Assert.Contains("  ", output);   // spaces inside lines (table columns) stay
        Assert.DoesNotContain(output.Split('\n'), line => line.EndsWith(' '));
    }

    [Fact]
    public void Table_output_shows_rows_and_the_explanation()
    {
        var (code, output, _) = CliRunner.Run("summary", "--model", "broken-cnn");
        Assert.Equal(3, code);
        Assert.Contains("features.pool2", output);
        Assert.Contains("in_features=800", output);
        Assert.Contains("Forward pass failed in classifier.fc1", output);
    }

    [Theory]
    [InlineData("summary", "--model", "resnet1000")]
    [InlineData("summary", "--model", "mlp", "--input", "1,x")]
    [InlineData("summary", "--model", "mlp", "--input", "0,784")]
    [InlineData("summary", "--model", "mlp", "--dtype", "complex")]
    [InlineData("summary")]
    [InlineData("summary", "--model", "mlp", "--mode", "sideways")]
    [InlineData("summary", "--model", "mlp", "--bogus")]
    [InlineData("frobnicate")]
    public void Bad_usage_exits_2_with_one_line(params string[] args)
    {
        var (code, _, err) = CliRunner.Run(args);
        Assert.Equal(2, code);
        Assert.StartsWith("torchdoctor: ", err);
        Assert.Single(err.Trim().Split('\n'));
        Assert.DoesNotContain("   at ", err);
    }

    [Fact]
    public void Unreadable_files_exit_2()
    {
        var (c1, _, e1) = CliRunner.Run("summary", Fixtures.Path("not_torchscript.pt"), "--input", "1,1,8,8");
        Assert.Equal(2, c1);
        Assert.Contains("not a TorchScript file", e1);
        var (c2, _, e2) = CliRunner.Run("summary", "/no/such/model.pt", "--input", "1,1,8,8");
        Assert.Equal(2, c2);
        Assert.Contains("no such file", e2);
    }

    [Fact]
    public void TorchScript_file_summary_in_json()
    {
        var (code, output, err) = CliRunner.Run("summary", Fixtures.Path("tiny_cnn.pt"), "--input", "1,1,8,8", "--json");
        Assert.True(code == 0, err);
        var j = CliRunner.Json(output);
        Assert.Equal(55, j.GetProperty("totalParams").GetInt64());
        Assert.Equal("tiny_cnn.pt", j.GetProperty("model").GetString());
    }

    [Fact]
    public void Hook_bypass_reported_by_the_cli()
    {
        var (code, output, _) = CliRunner.Run("summary", "--model", "bypass", "--json");
        Assert.Equal(0, code);
        var f = CliRunner.Json(output).GetProperty("findings").EnumerateArray().Single(x => x.GetProperty("code").GetString() == "TD1001");
        Assert.Equal("block.proj", f.GetProperty("module").GetString());
        Assert.Equal("hook-bypassed", f.GetProperty("slug").GetString());
        Assert.Equal("warning", f.GetProperty("severity").GetString());
    }

    [Fact]
    public void Long_inputs_for_embedding_models_and_text_and_tree_formats()
    {
        var (code, output, err) = CliRunner.Run("summary", "--model", "text-lstm", "--input", "2,12", "--dtype", "long", "--format", "text");
        Assert.True(code == 0, err);
        Assert.Contains("LSTM: 1-2", output);
        Assert.Contains("[2, 12, 128]", output);
        var (code2, tree, _) = CliRunner.Run("summary", "--model", "mnist-cnn", "--format", "tree", "--no-measure");
        Assert.Equal(0, code2);
        Assert.Contains("fc2", tree);
        var (code3, list, _) = CliRunner.Run("models");
        Assert.Equal(0, code3);
        Assert.Contains("inception_v3", list);
    }
}
