using TorchDoctor.Findings;
using TorchDoctor.Inspection;
using TorchDoctor.Models;
using TorchSharp;
using TorchSharp.Modules;
using Xunit;
using static TorchSharp.torch;
using static TorchSharp.torch.nn;

namespace TorchDoctor.Tests.Inspection;

public class ShapeExplainerTests
{
    private sealed class ViewNet : Module<Tensor, Tensor>
    {
        private readonly Conv2d conv = Conv2d(1, 16, 5);
        private readonly MaxPool2d pool = MaxPool2d(2);
        private readonly Linear fc = Linear(16 * 4 * 4, 10);
        public ViewNet() : base(nameof(ViewNet)) => RegisterComponents();
        public override Tensor forward(Tensor x)
        {
            var h = pool.call(conv.call(x));
            return fc.call(h.view(-1, 16 * 4 * 4 + 7));   // wrong: the real flat size is 16×12×12
        }
    }

    private sealed class Residual : Module<Tensor, Tensor>
    {
        private readonly Conv2d conv = Conv2d(8, 16, 3, padding: 1);
        public Residual() : base(nameof(Residual)) => RegisterComponents();
        public override Tensor forward(Tensor x) => conv.call(x) + x;   // channels differ: 16 vs 8
    }

    private sealed class MatMulNet : Module<Tensor, Tensor>
    {
        private readonly Parameter w = Parameter(torch.randn(3, 20));
        // torch.mm, not matmul: TorchSharp 0.107's Tensor.matmul aborts the process on a shape error (libtorch exception not caught).
        public MatMulNet() : base(nameof(MatMulNet)) => RegisterComponents();
        public override Tensor forward(Tensor x) => torch.mm(x, w);   // needs w.t()
    }

    [Fact]
    public void Linear_in_features_mismatch_names_the_layer_and_the_fix()
    {
        using var model = ModelZoo.BrokenMlp();
        var r = ModelSummary.Run(model, [4, 10]);
        Assert.False(r.Succeeded);
        var f = r.Failure!;
        Assert.Equal("fc2", f.Module);
        Assert.Equal("Linear", f.ModuleType);
        Assert.Contains(("in_features", "30"), f.Configuration);
        Assert.Equal([4L, 20], f.InputShapes.Single());
        Assert.Contains("in_features=20", f.Fix);
        Assert.Equal("linear-in-features", f.Kind);
        Assert.Contains("scrambles", f.Caution);
        Assert.Equal(("fc1", "Linear", (long[]?)[4L, 20]).Item1, f.Previous.Single().Path);
        // The rows that ran before the failure are kept, the failing call is marked.
        Assert.Equal(["", "fc1", "fc2"], r.Rows.Select(x => x.Path));
        Assert.True(r.Rows[2].Failed);
        Assert.Equal([4L, 20], r.Rows[1].OutputShapes[0]);
        var finding = Assert.Single(r.Findings);
        Assert.Equal(StructureCodes.ShapeMismatch.Code, finding.Code);
        Assert.Equal("fc2", finding.Module);
    }

    [Fact]
    public void Wrong_flatten_size_after_conv_and_pool_gets_the_computed_size()
    {
        using var model = ModelZoo.BrokenCnn();
        var r = ModelSummary.Run(model, [2, 1, 28, 28]);
        var f = r.Failure!;
        Assert.Equal("classifier.fc1", f.Module);
        Assert.Contains("in_features=800", f.Fix);
        Assert.Contains("32×5×5 = 800", f.Fix);
        Assert.Contains("features.pool2", f.Fix);
    }

    [Fact]
    public void Wrong_view_in_a_custom_forward_gets_the_per_sample_size()
    {
        using var model = new ViewNet();
        var r = ModelSummary.Run(model, [2, 1, 28, 28]);
        var f = r.Failure!;
        Assert.Equal("view-size", f.Kind);
        Assert.Equal("(root)", f.Module);
        Assert.Contains("[2, 2304]", f.Fix);
        Assert.Contains("in_features=2304", f.Fix);
        Assert.Contains("x.flatten(1)", f.Fix);
    }

    [Fact]
    public void Channels_last_images_get_a_permute()
    {
        using var model = Sequential(("conv", Conv2d(3, 8, 3)), ("relu", ReLU()));
        var r = ModelSummary.Run(model, [2, 32, 32, 3]);
        var f = r.Failure!;
        Assert.Equal("conv", f.Module);
        Assert.Equal("channels-last", f.Kind);
        Assert.Contains("x.permute(0, 3, 1, 2)", f.Fix);
    }

    [Fact]
    public void Wrong_channel_count_names_in_channels()
    {
        using var model = Sequential(("conv1", Conv2d(1, 8, 3)), ("conv2", Conv2d(16, 4, 3)));
        var r = ModelSummary.Run(model, [2, 1, 16, 16]);
        var f = r.Failure!;
        Assert.Equal("conv2", f.Module);
        Assert.Equal("conv-in-channels", f.Kind);
        Assert.Contains("in_channels=8", f.Fix);
    }

    [Fact]
    public void Missing_batch_dimension_is_explained_as_rank()
    {
        using var model = Sequential(("conv", Conv2d(1, 4, 3)));
        var r = ModelSummary.Run(model, [28, 28]);
        var f = r.Failure!;
        Assert.Equal("rank", f.Kind);
        Assert.Contains("unsqueeze(0)", f.Fix);
    }

    [Fact]
    public void Broadcast_mismatch_in_a_residual_block()
    {
        using var model = new Residual();
        var r = ModelSummary.Run(model, [1, 8, 6, 6]);
        var f = r.Failure!;
        Assert.Equal("broadcast", f.Kind);
        Assert.Equal("(root)", f.Module);
        Assert.Contains("conv → [1, 16, 6, 6]", f.Rule);
    }

    [Fact]
    public void Matmul_mismatch_suggests_a_transpose()
    {
        using var model = new MatMulNet();
        var r = ModelSummary.Run(model, [4, 20]);
        var f = r.Failure!;
        Assert.Equal("matmul", f.Kind);
        Assert.Contains("transpose the second operand", f.Fix);
        Assert.Contains("scrambles", f.Caution);
    }

    [Fact]
    public void Float_indices_into_an_embedding_get_the_dtype_fix()
    {
        using var model = new TextLstm();
        var r = ModelSummary.Run(model, [1, 10]);   // float32 by default: wrong for Embedding
        var f = r.Failure!;
        Assert.Equal("embedding", f.Module);
        Assert.Equal("dtype", f.Kind);
        Assert.Contains("int64", f.Fix);
    }

    [Fact]
    public void Unknown_errors_still_name_the_module_and_keep_the_message()
    {
        using var model = Sequential(("emb", Embedding(10, 4)));
        var r = ModelSummary.Run(model, new SummaryOptions { InputTensors = [torch.tensor(new long[] { 3, 12 })] });
        var f = r.Failure!;
        Assert.Equal("emb", f.Module);
        Assert.Equal("embedding-index", f.Kind);
        Assert.Contains("num_embeddings=10", f.Rule);
    }
}

public class ForwardBugTests
{
    private sealed class Buggy : TorchSharp.torch.nn.Module<TorchSharp.torch.Tensor, TorchSharp.torch.Tensor>
    {
        private readonly TorchSharp.Modules.Linear fc = TorchSharp.torch.nn.Linear(4, 4);
        private readonly Inner inner = new();
        public Buggy() : base(nameof(Buggy)) => RegisterComponents();
        public override TorchSharp.torch.Tensor forward(TorchSharp.torch.Tensor x) => inner.call(fc.call(x));
    }

    private sealed class Inner : TorchSharp.torch.nn.Module<TorchSharp.torch.Tensor, TorchSharp.torch.Tensor>
    {
        private readonly Dictionary<string, TorchSharp.torch.Tensor> cache = [];
        public Inner() : base(nameof(Inner)) { }
        public override TorchSharp.torch.Tensor forward(TorchSharp.torch.Tensor x) => cache["missing"] + x;   // a C# bug, not a shape error
    }

    [Xunit.Fact]
    public void A_csharp_exception_in_forward_is_located_not_thrown()
    {
        using var model = new Buggy();
        var r = TorchDoctor.Inspection.ModelSummary.Run(model, [2, 4]);
        Xunit.Assert.False(r.Succeeded);
        Xunit.Assert.Equal("inner", r.Failure!.Module);
        Xunit.Assert.StartsWith("KeyNotFoundException", r.Failure.NativeMessage);
        Xunit.Assert.Equal("TD1004", Xunit.Assert.Single(r.Findings).Code);
    }
}
