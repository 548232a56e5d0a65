using TorchDoctor.Reporting;
using TorchDoctor.Porting;
using TorchSharp;
using Xunit;
using K = TorchDoctor.Porting.StructureDifferenceKind;

namespace TorchDoctor.Tests.Porting;

public class StructureDiffTests
{
    private static StructureComparison Diff(string expected, string actual) => StructureDiff.Compare(PrintParser.Parse(expected), PrintParser.Parse(actual));

    [Fact]
    public void Resnet18_differs_only_by_its_relu_rename_and_flatten_module()
    {
        using var m = torchvision.models.resnet18();
        var diff = StructureDiff.Compare(PrintParser.Parse(PrinterTests.Text("resnet18.txt")), ModelPrinter.Describe(m));
        // TorchSharp 0.107's BasicBlock registers one ReLU named relu1 (after bn2) where torchvision's has relu
        // (applied twice in forward; the port's second ReLU is the functional relu_()), and ResNet has a Flatten module.
        var blocks = new[] { "layer1.0", "layer1.1", "layer2.0", "layer2.1", "layer3.0", "layer3.1", "layer4.0", "layer4.1" };
        var expected = blocks.Select(b => (b + ".relu", K.Renamed, "relu (ReLU(inplace=True))", "relu1 (ReLU(inplace=True))"))
            .Append(("flatten", K.Extra, (string?)null!, "flatten (Flatten(start_dim=1, end_dim=-1))"))
            .ToList();
        Assert.Equal(expected, diff.Differences.Select(d => (d.Path, d.Kind, d.Expected!, d.Actual!)).ToList());
        Assert.All(diff.Differences, d => Assert.False(d.ChangesComputation));
        Assert.Empty(diff.Unverified);
        Assert.Equal("layer1.0.relu", diff.PathMap["layer1.0.relu1"]);
    }

    [Fact]
    public void Mobilenet_v2_differs_only_by_sequential_containers_and_child_order()
    {
        using var m = torchvision.models.mobilenet_v2();
        var pytorch = PrintParser.Parse(PrinterTests.Text("mobilenet_v2.txt"));
        var diff = StructureDiff.Compare(pytorch, ModelPrinter.Describe(m));
        var containers = pytorch.SelfAndDescendants().Where(n => n.TypeName == "Conv2dNormActivation").Select(n => n.Path).ToList();
        Assert.Equal(35, containers.Count);
        var expected = containers.Select(p => (p, K.Type, "Conv2dNormActivation", "Sequential")).Prepend(("(root)", K.Order, "features, classifier", "classifier, features")).ToList();
        Assert.Equal(expected, diff.Differences.Select(d => (d.Path, d.Kind, d.Expected!, d.Actual!)).ToList());
        Assert.All(diff.Differences, d => Assert.False(d.ChangesComputation));
        Assert.Contains("Sequential subclass", diff.Differences[1].Explanation);
    }

    [Fact]
    public void Vgg11_has_no_differences()
    {
        var diff = StructureDiff.Compare(PrintParser.Parse(PrinterTests.Text("vgg11.txt")), PrintParser.Parse(PortingFixtures.Vgg11Text.Value));
        Assert.Empty(diff.Differences);
        Assert.StartsWith("Structure: the same as PyTorch's print (32 modules)", PortingText.Structure(diff));
    }

    [Fact]
    public void Broken_port_shows_its_three_mistakes()
    {
        using var m = new TorchDoctor.Models.BrokenPorts.PortNet();
        var diff = StructureDiff.Compare(PrintParser.Parse(PrinterTests.Text("portnet.txt")), ModelPrinter.Describe(m));
        Assert.Equal(
            [("block1.conv", K.Argument, "padding=(1, 1)", "padding=0", true),
             ("block2", K.Renamed, "block2 (Block())", "stage2 (Block())", false),
             ("block3.bn", K.Missing, "bn (BatchNorm2d(16, eps=1e-05, momentum=0.1, affine=True, track_running_stats=True))", null, true)],
            diff.Differences.Select(d => (d.Path, d.Kind, d.Expected, d.Actual, d.ChangesComputation)).ToList());
        Assert.Equal("block2.conv", diff.PathMap["stage2.conv"]);
        var text = PortingText.Structure(diff);
        Assert.Contains("- bn: missing in the port", text);
        Assert.Contains("~ block2: renamed block2 (Block()) → stage2 (Block())", text);
    }

    [Fact]
    public void A_missing_layer_in_a_sequential_is_aligned_not_cascaded()
    {
        var diff = Diff(
            "Sequential(\n  (0): Conv2d(3, 8, kernel_size=(3, 3), stride=(1, 1))\n  (1): BatchNorm2d(8, eps=1e-05, momentum=0.1, affine=True, track_running_stats=True)\n  (2): ReLU()\n  (3): Conv2d(8, 8, kernel_size=(3, 3), stride=(1, 1))\n  (4): ReLU()\n)",
            "Sequential(\n  (0): Conv2d(3, 8, kernel_size=(3, 3), stride=(1, 1))\n  (1): ReLU()\n  (2): Conv2d(8, 8, kernel_size=(3, 3), stride=(1, 1))\n  (3): ReLU()\n)");
        var d = Assert.Single(diff.Differences);
        Assert.Equal(("1", K.Missing, true), (d.Path, d.Kind, d.ChangesComputation));
        Assert.Contains("renumbered", d.Explanation);
        Assert.Equal("3", diff.PathMap["2"]);
    }

    [Fact]
    public void A_reused_activation_split_into_one_module_per_use_is_harmless()
    {
        var diff = Diff(
            "Bottleneck(\n  (conv1): Conv2d(4, 4, kernel_size=(1, 1), stride=(1, 1), bias=False)\n  (relu): ReLU(inplace=True)\n  (conv2): Conv2d(4, 4, kernel_size=(1, 1), stride=(1, 1), bias=False)\n)",
            "Bottleneck(\n  (conv1): Conv2d(4, 4, kernel_size=(1, 1), stride=(1, 1), bias=False)\n  (relu1): ReLU(inplace=True)\n  (conv2): Conv2d(4, 4, kernel_size=(1, 1), stride=(1, 1), bias=False)\n  (relu2): ReLU(inplace=True)\n)");
        var d = Assert.Single(diff.Differences);
        Assert.Equal((K.Split, "relu1, relu2", false), (d.Kind, d.Actual, d.ChangesComputation));
    }

    [Fact]
    public void Values_compare_by_meaning_not_spelling()
    {
        var diff = Diff(
            "Net(\n  (pool): MaxPool2d(kernel_size=2, stride=2, padding=0, dilation=1, ceil_mode=False)\n  (bn): BatchNorm1d(4, eps=0.00001, momentum=0.1, affine=True, track_running_stats=True)\n  (up): Upsample(scale_factor=2.0, mode=nearest)\n)",
            "Net(\n  (pool): MaxPool2d(kernel_size=(2, 2), stride=(2, 2), padding=(0, 0), dilation=(1, 1), ceil_mode=False)\n  (bn): BatchNorm1d(4, eps=1e-05, momentum=0.1, affine=True, track_running_stats=True)\n  (up): Upsample(scale_factor=2.0, mode='nearest')\n)");
        Assert.Empty(diff.Differences);
    }

    [Fact]
    public void Argument_type_and_inplace_differences()
    {
        var diff = Diff(
            "Net(\n  (pool): MaxPool2d(kernel_size=3, stride=2, padding=1, dilation=1, ceil_mode=True)\n  (act): ReLU(inplace=True)\n  (act2): ReLU()\n  (bn): BatchNorm2d(4, eps=0.001, momentum=0.1, affine=True, track_running_stats=True)\n)",
            "Net(\n  (pool): MaxPool2d(kernel_size=3, stride=2, padding=1, dilation=1, ceil_mode=False)\n  (act): ReLU()\n  (act2): ReLU6()\n  (bn): BatchNorm2d(4, eps=1e-05, momentum=0.1, affine=True, track_running_stats=True)\n)");
        Assert.Equal(
            [("pool", K.Argument, "ceil_mode=True", "ceil_mode=False", true),
             ("act", K.Argument, "inplace=True", "inplace=False", false),
             ("act2", K.Type, "ReLU", "ReLU6", true),
             ("bn", K.Argument, "eps=0.001", "eps=1e-05", true)],
            diff.Differences.Select(d => (d.Path, d.Kind, d.Expected, d.Actual, d.ChangesComputation)).ToList());
    }

    [Fact]
    public void Order_matters_inside_a_sequential_only()
    {
        var seq = Diff("Sequential(\n  (fc): Linear(in_features=4, out_features=4, bias=True)\n  (act): ReLU()\n)",
                       "Sequential(\n  (act): ReLU()\n  (fc): Linear(in_features=4, out_features=4, bias=True)\n)");
        Assert.True(Assert.Single(seq.Differences).ChangesComputation);
        var custom = Diff("Net(\n  (fc): Linear(in_features=4, out_features=4, bias=True)\n  (act): ReLU()\n)",
                          "Net(\n  (act): ReLU()\n  (fc): Linear(in_features=4, out_features=4, bias=True)\n)");
        Assert.False(Assert.Single(custom.Differences).ChangesComputation);
    }

    [Fact]
    public void Arguments_torchsharp_cannot_show_are_listed_not_reported()
    {
        var diff = Diff("Net(\n  (lstm): LSTM(16, 32, batch_first=True, dropout=0.1)\n  (emb): Embedding(10, 4, padding_idx=0)\n)",
                        "Net(\n  (lstm): LSTM(16, 32, batch_first=True)\n  (emb): Embedding(10, 4)\n)");
        Assert.Empty(diff.Differences);
        Assert.Equal(["lstm.dropout=0.1", "emb.padding_idx=0"], diff.Unverified);
    }
}
