using TorchDoctor.Inspection;
using TorchDoctor.Probes;
using TorchSharp;
using TorchSharp.Modules;
using Xunit;
using static TorchSharp.torch;
using static TorchSharp.torch.nn;
using Module = TorchSharp.torch.nn.Module;

namespace TorchDoctor.Tests.Probes;

public class ModuleHooksTests
{
    private sealed class Counter : IForwardObserver
    {
        public int Enters, Exits;
        public void OnEnter(Module module, object?[] inputs) => Enters++;
        public object? OnExit(Module module, object?[] inputs, object? output) { Exits++; return null; }
    }

    [Fact]
    public void Hooks_see_every_call_and_leave_outputs_bit_identical()
    {
        torch.manual_seed(3);
        using var model = torchvision.models.resnet18(num_classes: 10);
        model.eval();
        using var x = torch.rand(2, 3, 64, 64);
        using var plain = model.call(x);
        var tree = ModuleTree.Build(model);
        var counter = new Counter();
        using (ModuleHooks.Attach(tree.Nodes.Select(n => n.Module), counter))
        {
            using var hooked = model.call(x);
            Assert.True(hooked.equal(plain).all().item<bool>());
        }
        Assert.Equal(counter.Enters, counter.Exits);
        Assert.Equal(tree.Nodes.Count, counter.Enters);   // every module of resnet18 runs exactly once
        var after = counter.Enters;
        using var again = model.call(x);
        Assert.Equal(after, counter.Enters);   // disposed: hooks removed
    }

    [Fact]
    public void Multi_argument_and_tuple_returning_modules_are_hooked()
    {
        using var lstm = LSTM(4, 6, batchFirst: true);
        var tree = ModuleTree.Build(lstm);
        var rec = new CallRecorder(tree);
        using var x = torch.rand(2, 5, 4);
        using (ModuleHooks.Attach([lstm], rec))
        {
            var (o, h, c) = lstm.call(x);
            o.Dispose(); h.Dispose(); c.Dispose();
        }
        var call = Assert.Single(rec.Calls);
        Assert.Equal([2L, 5, 4], call.Inputs.Single().Shape);
        Assert.Equal(3, call.Outputs.Count);
        Assert.Equal([2L, 5, 6], call.Outputs[0].Shape);
    }

    [Fact]
    public void Module_tree_is_pre_order_with_root_and_paths()
    {
        using var model = torchvision.models.resnet18();
        var tree = ModuleTree.Build(model);
        Assert.Equal("", tree.Nodes[0].Path);
        Assert.Equal(["conv1", "bn1", "relu", "maxpool", "layer1"], tree.Nodes.Skip(1).Take(5).Select(n => n.Path));
        Assert.Equal("layer1.0", tree.Nodes[6].Path);
        Assert.Equal(3, tree.FindPath("layer1.0.conv1")!.Depth);
        Assert.Contains(("in_channels", "3"), tree.FindPath("conv1")!.Configuration());
        Assert.Contains(("kernel_size", "(7, 7)"), tree.FindPath("conv1")!.Configuration());
        Assert.Contains(("out_features", "1000"), tree.FindPath("fc")!.Configuration());
    }
}
