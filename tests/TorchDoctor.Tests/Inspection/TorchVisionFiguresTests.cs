using TorchDoctor.Tests;
using Xunit;

namespace TorchDoctor.Tests.Inspection;

/// <summary>The acceptance figures (torchinfo HEAD on the same torchvision architectures), through the CLI's --json.</summary>
public class TorchVisionFiguresTests
{
    private static void Within(double expected, double actual, double relative = 0.005)
        => Assert.True(Math.Abs(actual - expected) <= expected * relative, $"expected {expected} ±{relative:P1}, got {actual}");

    [Fact]
    public void Resnet18_matches_torchinfo()
    {
        var (code, output, err) = CliRunner.Run("summary", "--model", "resnet18", "--input", "1,3,224,224", "--json");
        Assert.True(code == 0, err);
        var j = CliRunner.Json(output);
        Assert.Equal(11_689_512, j.GetProperty("totalParams").GetInt64());
        Assert.Equal(11_689_512, j.GetProperty("trainableParams").GetInt64());
        Assert.Equal(0, j.GetProperty("nonTrainableParams").GetInt64());
        Within(1.81e9, j.GetProperty("multAdds").GetInt64());
        Within(39.75e6, j.GetProperty("forwardBackwardBytes").GetInt64());
        Within(46.76e6, j.GetProperty("paramsBytes").GetInt64());
        Within(0.60e6, j.GetProperty("inputBytes").GetInt64(), 0.01);
        Within(87.11e6, j.GetProperty("estimatedTotalBytes").GetInt64());
        // Measured peak of a real forward+backward: same order as the estimate, not a copy of it.
        var measured = j.GetProperty("measuredPeakBytes").GetInt64();
        Assert.InRange(measured, 20_000_000, 400_000_000);
        var layers = j.GetProperty("layers").EnumerateArray().ToList();
        var conv1 = layers.Single(l => l.GetProperty("path").GetString() == "layer1.0.conv1");
        Assert.Equal("Conv2d", conv1.GetProperty("type").GetString());
        Assert.Equal(3, conv1.GetProperty("depth").GetInt32());
        Assert.Equal([1, 64, 56, 56], conv1.GetProperty("outputShape").EnumerateArray().Select(e => e.GetInt64()));
        Assert.Equal(36_864, conv1.GetProperty("params").GetInt64());
        Assert.Equal(115_605_504, conv1.GetProperty("multAdds").GetInt64());
        Assert.False(conv1.GetProperty("recursive").GetBoolean());
        Assert.Empty(j.GetProperty("findings").EnumerateArray());
        Assert.Equal(System.Text.Json.JsonValueKind.Null, j.GetProperty("error").ValueKind);
    }

    [Fact]
    public void Vgg16_matches_torchinfo()
    {
        var (code, output, err) = CliRunner.Run("summary", "--model", "vgg16", "--input", "1,3,224,224", "--json", "--no-measure");
        Assert.True(code == 0, err);
        var j = CliRunner.Json(output);
        Assert.Equal(138_357_544, j.GetProperty("totalParams").GetInt64());
        Within(15.48e9, j.GetProperty("multAdds").GetInt64());
    }

    [Fact]
    public void Alexnet_matches_torchinfo()
    {
        var (code, output, err) = CliRunner.Run("summary", "--model", "alexnet", "--json", "--no-measure");
        Assert.True(code == 0, err);
        var j = CliRunner.Json(output);
        Assert.Equal(61_100_840, j.GetProperty("totalParams").GetInt64());
        Within(714.68e6, j.GetProperty("multAdds").GetInt64());
    }

    [Theory]
    [InlineData("mobilenet_v2", 3_504_872L, "features.18")]
    [InlineData("googlenet", 6_624_904L, "inception5b")]
    public void Other_torchvision_models_summarise(string model, long parameters, string lastBlock)
    {
        var (code, output, err) = CliRunner.Run("summary", "--model", model, "--json", "--no-measure");
        Assert.True(code == 0, err);
        var j = CliRunner.Json(output);
        Assert.Equal(parameters, j.GetProperty("totalParams").GetInt64());
        Assert.Contains(j.GetProperty("layers").EnumerateArray(), l => l.GetProperty("path").GetString() == lastBlock);
        Assert.Equal([1, 1000], j.GetProperty("outputShapes")[0].EnumerateArray().Select(e => e.GetInt64()));
    }

    [Fact]
    public void Inception_v3_in_eval_mode_reports_the_auxiliary_head_as_unused()
    {
        var (code, output, err) = CliRunner.Run("summary", "--model", "inception_v3", "--json", "--no-measure");
        Assert.True(code == 0, err);
        var j = CliRunner.Json(output);
        Assert.Equal(27_161_264, j.GetProperty("totalParams").GetInt64());
        var f = Assert.Single(j.GetProperty("findings").EnumerateArray());
        Assert.Equal("TD1002", f.GetProperty("code").GetString());
        Assert.Equal("AuxLogits", f.GetProperty("module").GetString());
    }
}
