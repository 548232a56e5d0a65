using TorchDoctor.Porting;
using TorchSharp;
using Xunit;
using static TorchSharp.torch;
using static TorchSharp.torch.nn;

namespace TorchDoctor.Tests.Porting;

/// <summary>The C# twin of tools/make_porting_fixtures.py's LayerZoo: one module per common layer type.</summary>
internal sealed class LayerZoo : Module<Tensor, Tensor>
{
    public LayerZoo() : base(nameof(LayerZoo))
    {
        (string, Module)[] layers =
        [
            ("conv1d", Conv1d(4, 8, 3)),
            ("conv2d", Conv2d(3, 16, 3, stride: 2, padding: 1, bias: false)),
            ("conv2d_same", Conv2d(8, 8, 3, padding: Padding.Same, groups: 4, padding_mode: PaddingModes.Reflect)),
            ("conv2d_dilated", Conv2d(8, 8, 3, padding: 2, dilation: 2)),
            ("conv3d", Conv3d(2, 4, (1, 3, 3))),
            ("convt1d", ConvTranspose1d(4, 2, 3)),
            ("convt2d", ConvTranspose2d(16, 8, 3, stride: 2, padding: 1, output_padding: 1)),
            ("linear", Linear(10, 5)),
            ("linear_nobias", Linear(10, 5, hasBias: false)),
            ("bilinear", Bilinear(4, 5, 6)),
            ("bn1d", BatchNorm1d(8, eps: 1e-3, momentum: 0.01)),
            ("bn2d", BatchNorm2d(16, affine: false)),
            ("bn3d", BatchNorm3d(4, track_running_stats: false)),
            ("in2d", InstanceNorm2d(8)),
            ("ln", LayerNorm(32)),
            ("ln2", LayerNorm([4, 8], eps: 1e-6)),
            ("gn", GroupNorm(4, 16)),
            ("lrn", LocalResponseNorm(5)),
            ("relu", ReLU()),
            ("relu_inplace", ReLU(inplace: true)),
            ("relu6", ReLU6(inplace: true)),
            ("leaky", LeakyReLU(0.2)),
            ("gelu", GELU()),
            ("gelu_tanh", GELU(approximate: TorchSharp.Modules.GELU.Approximate.tanh)),
            ("silu", SiLU()),
            ("sigmoid", Sigmoid()),
            ("tanh", Tanh()),
            ("softmax", Softmax(1)),
            ("log_softmax", LogSoftmax(-1)),
            ("elu", ELU(alpha: 0.5)),
            ("selu", SELU()),
            ("hardswish", Hardswish()),
            ("hardsigmoid", Hardsigmoid()),
            ("hardtanh", Hardtanh(-2.0, 2.0)),
            ("mish", Mish()),
            ("prelu", PReLU(1)),
            ("threshold", Threshold(0.1, 20.0)),
            ("dropout", Dropout(0.1)),
            ("dropout2d", Dropout2d()),
            ("alpha_dropout", AlphaDropout(0.2)),
            ("maxpool1d", MaxPool1d(2)),
            ("maxpool2d", MaxPool2d(3, stride: 2, padding: 1, ceil_mode: true)),
            ("avgpool2d", AvgPool2d(2)),
            ("adaptive_avg", AdaptiveAvgPool2d([1, 1])),
            ("adaptive_max1d", AdaptiveMaxPool1d(4)),
            ("flatten", Flatten()),
            ("unflatten", Unflatten(1, [2, 5])),
            ("embedding", Embedding(100, 16)),
            ("lstm", LSTM(16, 32, numLayers: 2, batchFirst: true, bidirectional: true)),
            ("gru", GRU(8, 16, bias: false)),
            ("rnn", RNN(4, 8)),
            ("mha", MultiheadAttention(16, 4)),
            ("identity", Identity()),
            ("pixel_shuffle", PixelShuffle(2)),
            ("zeropad", ZeroPad2d(1)),
            ("reflectpad", ReflectionPad2d(2)),
            ("seq", Sequential(Linear(4, 4), ReLU())),
            ("named_seq", Sequential(("fc", Linear(4, 2)), ("act", Tanh()))),
        ];
        foreach (var (name, m) in layers) register_module(name, m);
    }

    public override Tensor forward(Tensor x) => throw new NotSupportedException("only printed");
}

internal sealed class Container : Module<Tensor, Tensor>
{
    public Container() : base(nameof(Container)) { }
    public void Add(string name, Module m) => register_module(name, m);
    public override Tensor forward(Tensor x) => x;
}

internal sealed class ListHolder : Module<Tensor, Tensor>
{
    private readonly TorchSharp.Modules.ModuleList<Module> layers = ModuleList<Module>(Linear(2, 2), Linear(2, 2), Linear(2, 2), ReLU());
    public ListHolder() : base(nameof(ListHolder)) => RegisterComponents();
    public override Tensor forward(Tensor x) => x;
}

public class PrinterTests
{
    internal static string Text(string name) => File.ReadAllText(Fixtures.Path(Path.Combine("porting", name))).TrimEnd('\n');

    [Fact]
    public void Vgg11_prints_exactly_like_pytorch()
    {
        Assert.Equal(Text("vgg11.txt"), PortingFixtures.Vgg11Text.Value);
    }

    [Fact]
    public void Common_layers_print_pytorchs_extra_repr()
    {
        using var zoo = new LayerZoo();
        var expected = Text("layers.txt").Split('\n');
        var actual = ModelPrinter.Print(zoo).Split('\n');
        // Line by line, so a failure names the layer.
        for (int i = 0; i < Math.Max(expected.Length, actual.Length); i++)
            Assert.Equal(i < expected.Length ? expected[i] : "<end>", i < actual.Length ? actual[i] : "<end>");
    }

    [Fact]
    public void Portnet_port_prints_like_its_original()
    {
        using var m = new TorchDoctor.Models.PortNet();
        Assert.Equal(Text("portnet.txt"), ModelPrinter.Print(m));
        Assert.Equal(Text("portnet.txt"), m.ToPyTorchString());
    }

    [Theory]
    [InlineData(1e-5, "1e-05")]
    [InlineData(0.1, "0.1")]
    [InlineData(2.0, "2.0")]
    [InlineData(0.0001, "0.0001")]
    [InlineData(1e16, "1e+16")]
    [InlineData(1e15, "1000000000000000.0")]
    [InlineData(-0.75, "-0.75")]
    [InlineData(1.5e-7, "1.5e-07")]
    [InlineData(123.456, "123.456")]
    [InlineData(0.0, "0.0")]
    public void Floats_are_written_as_python_repr(double value, string text) => Assert.Equal(text, PyRepr.Float(value));

    [Fact]
    public void ModuleList_runs_are_compacted_as_in_pytorch_2()
    {
        using var holder = new ListHolder();
        var list = ModelPrinter.Describe(holder).Children.Single();
        var text = list.ToString();
        Assert.Equal(
            "ModuleList(\n  (0-2): 3 x Linear(in_features=2, out_features=2, bias=True)\n  (3): ReLU()\n)", text);
        Assert.Equal(
            "ModuleList(\n  (0): Linear(in_features=2, out_features=2, bias=True)\n  (1): Linear(in_features=2, out_features=2, bias=True)\n" +
            "  (2): Linear(in_features=2, out_features=2, bias=True)\n  (3): ReLU()\n)",
            list.ToText(new PrintOptions { CompactModuleLists = false }));
        // The parser expands the compact form back.
        var parsed = PrintParser.Parse(text);
        Assert.Equal(["0", "1", "2", "3"], parsed.Children.Select(c => c.Name));
        Assert.Empty(StructureDiff.Compare(parsed, list).Differences);
    }

    [Fact]
    public void Unknown_torchsharp_layers_say_so_and_custom_modules_print_children()
    {
        using var m = new Container();
        m.Add("enc", TransformerEncoderLayer(16, 4));
        m.Add("loss", CrossEntropyLoss());
        var text = ModelPrinter.Print(m);
        Assert.Contains("(enc): TransformerEncoderLayer()  # not in TorchDoctor's table: arguments not shown", text);
        Assert.Contains("(loss): CrossEntropyLoss()", text);
        Assert.DoesNotContain("#", ModelPrinter.Print(m, new PrintOptions { ShowNotes = false }));
        Assert.False(ModelPrinter.Describe(m).Children[0].IsKnown);
    }

    [Fact]
    public void Parsed_text_prints_back_identically()
    {
        foreach (var name in new[] { "resnet18.txt", "mobilenet_v2.txt", "vgg11.txt", "layers.txt", "portnet.txt" })
            Assert.Equal(Text(name), PrintParser.Parse(Text(name)).ToText(new PrintOptions { CompactModuleLists = false }));
    }

    [Fact]
    public void Parser_accepts_a_pasted_session()
    {
        var pasted = ">>> print(model)\r\nNet(\r\n  (fc): Linear(in_features=4, out_features=2, bias=True)  # head\r\n\r\n)\r\n>>> \r\n";
        var tree = PrintParser.Parse(pasted.Replace(">>> \r\n", ""));
        Assert.Equal("Net", tree.TypeName);
        Assert.Equal("in_features=4, out_features=2, bias=True", tree.Children.Single().Arguments);
    }

    [Theory]
    [InlineData("hello world", "no line looks like the start")]
    [InlineData("Net(\n  (fc): Linear(in_features=4, out_features=2, bias=True)\n", "never closed")]
    [InlineData("Net(\n      (fc): Linear()\n)", "indentation")]
    [InlineData("Net(\n  (fc): Linear(a=(1, 2)\n)", "unbalanced")]
    public void Parser_errors_name_the_line(string text, string message)
    {
        var e = Assert.Throws<PrintFormatException>(() => PrintParser.Parse(text));
        Assert.Contains(message, e.Message);
    }
}
