using TorchSharp.Modules;
using static TorchSharp.torch;
using static TorchSharp.torch.nn;

namespace TorchDoctor.Models;

/// <summary>
/// A faithful C# port of the tiny PyTorch CNN <c>PortNet</c> in tools/make_porting_fixtures.py (input
/// [N, 3, 12, 12], 10 classes): stem (conv-bn-relu Sequential), three conv-bn-relu blocks, adaptive average
/// pool, flatten in forward, head (Dropout + Linear). <c>torchdoctor compare --model portnet</c> checks it
/// against the PyTorch original's text, state_dict and reference outputs.
/// </summary>
public sealed class PortNet : Module<Tensor, Tensor>
{
    private readonly Sequential stem = Sequential(Conv2d(3, 8, 3, padding: 1, bias: false), BatchNorm2d(8), ReLU(inplace: true));
    private readonly Block block1 = new(8, 16, 2);
    private readonly Block block2 = new(16, 16, 1);
    private readonly Block block3 = new(16, 16, 1);
    private readonly AdaptiveAvgPool2d pool = AdaptiveAvgPool2d([1, 1]);
    private readonly Sequential head = Sequential(Dropout(0.2), Linear(16, 10));

    /// <summary>Creates the model.</summary>
    public PortNet() : base(nameof(PortNet)) => RegisterComponents();

    /// <inheritdoc />
    public override Tensor forward(Tensor x)
    {
        using var scope = NewDisposeScope();
        var h = block3.call(block2.call(block1.call(stem.call(x))));
        h = pool.call(h).flatten(1);
        return head.call(h).MoveToOuterDisposeScope();
    }

    /// <summary>conv(3×3, padding 1, no bias) → BatchNorm2d → ReLU, as PyTorch's <c>Block</c>.</summary>
    public sealed class Block : Module<Tensor, Tensor>
    {
        private readonly Conv2d conv;
        private readonly BatchNorm2d bn;
        private readonly ReLU relu = ReLU(inplace: true);

        /// <summary>Creates the block.</summary>
        public Block(long cin, long cout, long stride) : base(nameof(Block))
        {
            conv = Conv2d(cin, cout, 3, stride: stride, padding: 1, bias: false);
            bn = BatchNorm2d(cout);
            RegisterComponents();
        }

        /// <inheritdoc />
        public override Tensor forward(Tensor x) => relu.call(bn.call(conv.call(x)));
    }
}

/// <summary>Sample ports with deliberate mistakes, for <c>torchdoctor compare</c> and its tests.</summary>
public static class BrokenPorts
{
    /// <summary>
    /// A port of <c>PortNet</c> with three mistakes: <c>block1.conv</c> has padding 0 instead of 1 (a wrong padding),
    /// <c>block3</c> has no BatchNorm (a missing layer), and <c>block2</c> is called <c>stage2</c> (a renamed block).
    /// </summary>
    public sealed class PortNet : Module<Tensor, Tensor>
    {
        private readonly Sequential stem = Sequential(Conv2d(3, 8, 3, padding: 1, bias: false), BatchNorm2d(8), ReLU(inplace: true));
        private readonly Block block1 = new(8, 16, 2, padding: 0, batchNorm: true);
        private readonly Block stage2 = new(16, 16, 1, padding: 1, batchNorm: true);
        private readonly Block block3 = new(16, 16, 1, padding: 1, batchNorm: false);
        private readonly AdaptiveAvgPool2d pool = AdaptiveAvgPool2d([1, 1]);
        private readonly Sequential head = Sequential(Dropout(0.2), Linear(16, 10));

        /// <summary>Creates the model.</summary>
        public PortNet() : base(nameof(PortNet)) => RegisterComponents();

        /// <inheritdoc />
        public override Tensor forward(Tensor x)
        {
            using var scope = NewDisposeScope();
            var h = block3.call(stage2.call(block1.call(stem.call(x))));
            h = pool.call(h).flatten(1);
            return head.call(h).MoveToOuterDisposeScope();
        }

        /// <summary>conv → [BatchNorm2d] → ReLU with a configurable padding.</summary>
        public sealed class Block : Module<Tensor, Tensor>
        {
            private readonly Conv2d conv;
            private readonly BatchNorm2d? bn;
            private readonly ReLU relu = ReLU(inplace: true);

            /// <summary>Creates the block.</summary>
            public Block(long cin, long cout, long stride, long padding, bool batchNorm) : base(nameof(Block))
            {
                conv = Conv2d(cin, cout, 3, stride: stride, padding: padding, bias: false);
                bn = batchNorm ? BatchNorm2d(cout) : null;
                RegisterComponents();
            }

            /// <inheritdoc />
            public override Tensor forward(Tensor x)
            {
                var h = conv.call(x);
                if (bn is not null) h = bn.call(h);
                return relu.call(h);
            }
        }
    }
}
