using TorchDoctor.Reporting;
using TorchDoctor.Inspection;
using TorchDoctor.Models;
using TorchDoctor.Porting;
using TorchSharp;
using Xunit;
using Xunit.Abstractions;
using static TorchSharp.torch;

namespace TorchDoctor.Tests.Porting;

public class NumericTests(ITestOutputHelper output)
{
    [Fact]
    public void Resnet18_port_matches_pytorch_resnet18_weights_and_output()
    {
        using var ckpt = PortingFixtures.Resnet18Checkpoint();
        using var model = torchvision.models.resnet18();
        var report = PortingCheck.Run(model, new PortingOptions
        {
            PyTorchPrintPath = PortingFixtures.P("resnet18.txt"),
            CheckpointPath = ckpt.Path,
            ReferencePath = PortingFixtures.P("resnet18_ref.pt"),
            Tolerance = 1e-4,
        }, "resnet18");
        output.WriteLine(PortingText.Render(report));
        Assert.True(report.StateDict!.Clean);
        Assert.Equal((122, 122, true), (report.StateDict.ModelCount, report.StateDict.LoadedCount, report.StateDict.LoadedStrict));
        Assert.Empty(report.StateDict.DTypeMismatches);
        Assert.Equal([1, 1000], report.Numbers!.ActualShape);
        Assert.InRange(report.Numbers.MaxRelError, 0, 1e-4);
        Assert.False(report.Structure!.ChangesComputation);
        Assert.True(report.Matches);
        Assert.DoesNotContain(report.Findings, f => f.Severity != TorchDoctor.Findings.Severity.Info);
    }

    [Fact]
    public void Faithful_portnet_matches_layer_by_layer()
    {
        using var model = new PortNet();
        var report = PortingCheck.Run(model, new PortingOptions
        {
            PyTorchPrintPath = PortingFixtures.P("portnet.txt"),
            CheckpointPath = PortingFixtures.P("portnet.pt"),
            ReferencePath = PortingFixtures.P("portnet_ref.pt"),
            PerLayer = true,
        });
        Assert.True(report.Matches, PortingText.Render(report));
        Assert.Equal(20, report.Numbers!.Layers.Count);
        Assert.Null(report.Numbers.FirstDivergent);
        Assert.Contains("All 20 compared layer outputs are within tolerance", PortingText.Render(report));
        Assert.True(model.training);   // the check ran in eval mode and restored train mode
    }

    [Fact]
    public void Broken_port_is_reported_with_each_mistake_the_mapping_and_the_divergent_layer()
    {
        using var model = new BrokenPorts.PortNet();
        var report = PortingCheck.Run(model, new PortingOptions
        {
            PyTorchPrintPath = PortingFixtures.P("portnet.txt"),
            CheckpointPath = PortingFixtures.P("portnet.pt"),
            ReferencePath = PortingFixtures.P("portnet_ref.pt"),
            PerLayer = true,
        });
        output.WriteLine(PortingText.Render(report));
        Assert.False(report.Matches);
        var codes = report.Findings.Select(f => (f.Code, f.Module)).ToList();
        Assert.Contains(("TD4004", "block1.conv"), codes);   // wrong padding
        Assert.Contains(("TD4001", "block3.bn"), codes);     // missing layer
        Assert.Contains(("TD4012", null), codes);            // the renamed block, mapped
        Assert.Contains(("TD4015", "block1.conv"), codes);   // the first divergent layer
        Assert.Contains(("TD4014", null), codes);
        Assert.Equal([new KeyRename("block2", "stage2")], report.StateDict!.SuggestedMapping!.Rules);
        var first = report.Numbers!.FirstDivergent!;
        Assert.Equal(("block1.conv", "block1.conv"), (first.Path, first.ReferenceName));
        Assert.Equal([1, 16, 5, 5], first.Actual);
        Assert.Equal([1, 16, 6, 6], first.Expected);
        Assert.Contains("padding=(1, 1)", report.Findings.Single(f => f.Code == "TD4015").Message);
        Assert.Contains("padding", report.Numbers.Hint);
        // stage2 is compared with PyTorch's block2 through the rename.
        Assert.Contains(report.Numbers.Layers, l => l.Path == "stage2.conv" && l.ReferenceName == "block2.conv");
    }

    [Fact]
    public void Without_the_printed_text_the_key_mapping_still_lines_up_renamed_layers()
    {
        using var model = new BrokenPorts.PortNet();
        var report = PortingCheck.Run(model, new PortingOptions
        {
            CheckpointPath = PortingFixtures.P("portnet.pt"),
            ReferencePath = PortingFixtures.P("portnet_ref.pt"),
            PerLayer = true,
        });
        Assert.Equal("block1.conv", report.Numbers!.FirstDivergent!.Path);
        Assert.Contains(report.Numbers.Layers, l => l.Path == "stage2.conv" && l.ReferenceName == "block2.conv");
    }

    [Fact]
    public void A_reference_with_the_wrong_input_layout_is_explained()
    {
        using var model = new PortNet();
        using var reference = PyTorchFiles.ReadReference(PortingFixtures.P("portnet_ref_nhwc.pt"));
        var e = Assert.Throws<ModelFileException>(() => NumericComparer.Compare(model, reference));
        Assert.Contains("cannot run on the reference input [1, 12, 12, 3]", e.Message);
        Assert.Contains("stem.0 (Conv2d)", e.Message);
        Assert.Contains("permute(0, 3, 1, 2)", e.Message);
        Assert.True(model.training);
    }

    [Fact]
    public void Errors_are_relative_to_the_reference_scale()
    {
        using var a = tensor(new float[] { 1, 2, 3, 4 });
        using var b = tensor(new float[] { 1, 2, 3, 4.4f });
        var (abs, rel, same) = NumericComparer.Errors(b, a);
        Assert.True(same);
        Assert.Equal(0.4, abs, 5);
        Assert.Equal(0.1, rel, 5);
        using var c = tensor(new float[] { 1, 2 });
        Assert.False(NumericComparer.Errors(c, a).SameShape);
    }
}
