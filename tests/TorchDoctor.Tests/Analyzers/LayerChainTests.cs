using TorchDoctor.Analyzers;
using Xunit;

namespace TorchDoctor.Tests.Analyzers;

public class LayerChainTests
{
    [Fact]
    public Task Linear_sizes_that_cannot_chain_in_a_Sequential_are_flagged_and_fixed() => Verify.CodeFix<LayerChainAnalyzer, LayerSizeCodeFix>("""
        static class Program
        {
            static Sequential Build() => Sequential(Linear(10, 20), ReLU(), Dropout(0.5), Linear({|TD1003:30|}, 3));
        }
        """, """
        static class Program
        {
            static Sequential Build() => Sequential(Linear(10, 20), ReLU(), Dropout(0.5), Linear(20, 3));
        }
        """);

    [Fact]
    public Task Conv_channels_through_pooling_and_batch_norm_are_checked() => Verify.Analyzer<LayerChainAnalyzer>("""
        static class Program
        {
            static Sequential Build() => Sequential(
                ("conv1", Conv2d(1, 16, 3)), ("bn1", BatchNorm2d({|TD1003:32|})), ("pool", MaxPool2d(2)),
                ("conv2", Conv2d({|TD1003:8|}, 32, kernel_size: 3)));
        }
        """);

    [Fact]
    public Task Forward_data_flow_through_fields_is_checked() => Verify.Analyzer<LayerChainAnalyzer>("""
        class Net : Module<Tensor, Tensor>
        {
            private readonly Linear fc1 = Linear(784, 128);
            private readonly Linear fc2;
            public Net() : base("Net") { fc2 = Linear({|TD1003:100|}, 10); RegisterComponents(); }
            public override Tensor forward(Tensor x)
            {
                using var h = functional.relu(fc1.call(x));
                var d = functional.dropout(h, 0.2);
                return fc2.call(d);
            }
        }
        """);

    [Fact]
    public Task Flatten_view_unknown_modules_branches_and_non_literal_sizes_end_the_chain() => Verify.Analyzer<LayerChainAnalyzer>("""
        class Net : Module<Tensor, Tensor>
        {
            private readonly Conv2d conv = Conv2d(1, 16, 3);
            private readonly Linear fc = Linear(2704, 10);
            private readonly Linear a = Linear(10, 8);
            private readonly Linear b = Linear(6, 2);
            public Net() : base("Net") { RegisterComponents(); }
            public override Tensor forward(Tensor x)
            {
                var y = conv.call(x).view(-1, 2704);
                var z = fc.call(y);
                var h = a.call(z);
                if (h.shape[0] > 1) h = h[.., ..6];
                return b.call(h);
            }
        }
        static class Program
        {
            static Sequential Build(int hidden) => Sequential(
                Conv2d(1, 16, 3), Flatten(), Linear(2704, 10), Linear(hidden, 3), Linear(3, 4));
        }
        """);
}
