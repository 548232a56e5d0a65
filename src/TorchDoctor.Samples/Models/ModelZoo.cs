using TorchSharp;
using TorchSharp.Modules;
using static TorchSharp.torch;
using static TorchSharp.torch.nn;

namespace TorchDoctor.Models;

/// <summary>A model the CLI can build by name, with the input it expects by default.</summary>
/// <param name="Name">Name on the command line.</param>
/// <param name="Description">One line for the help text.</param>
/// <param name="DefaultInputs">Default input shapes (one per forward argument).</param>
/// <param name="DefaultDTypes">Default input dtypes.</param>
/// <param name="Create">Builds a fresh instance.</param>
public sealed record ZooEntry(string Name, string Description, long[][] DefaultInputs, ScalarType[] DefaultDTypes, Func<Module> Create);

/// <summary>TorchVision architectures and TorchDoctor's built-in sample models, by name.</summary>
public static class ModelZoo
{
    private static readonly long[][] Image224 = [[1, 3, 224, 224]];
    private static readonly ScalarType[] F32 = [ScalarType.Float32];

    /// <summary>Every model, by name (case-insensitive).</summary>
    public static IReadOnlyDictionary<string, ZooEntry> All { get; } = Build();

    /// <summary>Finds a model by name, or null.</summary>
    public static ZooEntry? Find(string name) => All.GetValueOrDefault(name);

    private static Dictionary<string, ZooEntry> Build()
    {
        var d = new Dictionary<string, ZooEntry>(StringComparer.OrdinalIgnoreCase);
        void Add(string n, string desc, long[][] inputs, ScalarType[] dtypes, Func<Module> f) => d[n] = new(n, desc, inputs, dtypes, f);
        Add("resnet18", "TorchVision ResNet-18", Image224, F32, () => torchvision.models.resnet18());
        Add("resnet34", "TorchVision ResNet-34", Image224, F32, () => torchvision.models.resnet34());
        Add("resnet50", "TorchVision ResNet-50", Image224, F32, () => torchvision.models.resnet50());
        Add("resnet101", "TorchVision ResNet-101", Image224, F32, () => torchvision.models.resnet101());
        Add("resnet152", "TorchVision ResNet-152", Image224, F32, () => torchvision.models.resnet152());
        foreach (var v in new[] { "vgg11", "vgg13", "vgg16", "vgg19" })
        {
            var name = v;
            Add(name, $"TorchVision {name.ToUpperInvariant()}", Image224, F32, () => Vgg(name, false));
            Add(name + "_bn", $"TorchVision {name.ToUpperInvariant()} with BatchNorm", Image224, F32, () => Vgg(name, true));
        }
        Add("alexnet", "TorchVision AlexNet", Image224, F32, () => torchvision.models.alexnet());
        Add("mobilenet_v2", "TorchVision MobileNetV2", Image224, F32, () => torchvision.models.mobilenet_v2());
        Add("googlenet", "TorchVision GoogLeNet", Image224, F32, () => torchvision.models.googlenet());
        Add("inception_v3", "TorchVision Inception v3 (299×299 input)", [[1, 3, 299, 299]], F32, () => torchvision.models.inception_v3());

        Add("mnist-cnn", "Sample: 2 conv + 2 linear CNN for 1×28×28 images (the demo CNN)", [[1, 1, 28, 28]], F32, () => new SmallCnn());
        Add("mlp", "Sample: 784-256-128-10 ReLU MLP", [[1, 784]], F32, () => new Mlp());
        Add("text-lstm", "Sample: Embedding(1000, 64) + LSTM(64, 128) + Linear classifier over token ids", [[1, 32]], [ScalarType.Int64], () => new TextLstm());
        Add("tied-lm", "Sample: language model whose output layer shares the embedding weight (tied weights)", [[1, 16]], [ScalarType.Int64], () => new TiedLm());
        Add("bypass", "Sample: a custom block that calls child.forward(x), hiding the child from hooks", [[2, 16]], F32, () => new BypassNet());
        Add("broken-mlp", "Sample (fails): Linear(10, 20) then Linear(30, 3)", [[4, 10]], F32, () => BrokenMlp());
        Add("portnet", "Sample: C# port of the tiny PyTorch CNN PortNet (tools/make_porting_fixtures.py), for torchdoctor compare", [[1, 3, 12, 12]], F32, () => new PortNet());
        Add("portnet-broken", "Sample: PortNet ported with a wrong padding, a missing BatchNorm and a renamed block", [[1, 3, 12, 12]], F32, () => new BrokenPorts.PortNet());
        Add("broken-cnn", "Sample (fails): a CNN whose first Linear has the wrong flattened size", [[2, 1, 28, 28]], F32, () => BrokenCnn());
        return d;
    }

    private static Module Vgg(string name, bool bn) => (name, bn) switch
    {
        ("vgg11", false) => torchvision.models.vgg11(), ("vgg11", true) => torchvision.models.vgg11_bn(),
        ("vgg13", false) => torchvision.models.vgg13(), ("vgg13", true) => torchvision.models.vgg13_bn(),
        ("vgg16", false) => torchvision.models.vgg16(), ("vgg16", true) => torchvision.models.vgg16_bn(),
        ("vgg19", false) => torchvision.models.vgg19(), _ => torchvision.models.vgg19_bn(),
    };

    /// <summary><c>Sequential(Linear(10, 20), Linear(30, 3))</c>: the second layer expects 30 features but gets 20.</summary>
#pragma warning disable TD1003 // deliberate fault: the shape explainer's demo model (summary --model broken-mlp)
#pragma warning disable TD1003 // deliberate fault: the shape explainer's demo model (summary --model broken-mlp)
    public static Sequential BrokenMlp() => Sequential(("fc1", Linear(10, 20)), ("fc2", Linear(30, 3)));
#pragma warning restore TD1003
#pragma warning restore TD1003

    /// <summary>A conv net for 1×28×28 whose classifier expects 32×7×7 = 1568 features; the real flattened size is 32×5×5 = 800.</summary>
    public static Sequential BrokenCnn() => Sequential(
        ("features", Sequential(
            ("conv1", Conv2d(1, 16, 3)), ("relu1", ReLU()), ("pool1", MaxPool2d(2)),
            ("conv2", Conv2d(16, 32, 3)), ("relu2", ReLU()), ("pool2", MaxPool2d(2)))),
        ("flatten", Flatten()),
        ("classifier", Sequential(("fc1", Linear(32 * 7 * 7, 64)), ("relu", ReLU()), ("fc2", Linear(64, 10)))));
}

/// <summary>The demo CNN: conv(1→16) → pool → conv(16→32) → pool → fc(800→128) → fc(128→10), for 1×28×28 inputs.</summary>
public sealed class SmallCnn : Module<Tensor, Tensor>
{
    private readonly Conv2d conv1 = Conv2d(1, 16, 3);
    private readonly ReLU relu1 = ReLU();
    private readonly MaxPool2d pool1 = MaxPool2d(2);
    private readonly Conv2d conv2 = Conv2d(16, 32, 3);
    private readonly ReLU relu2 = ReLU();
    private readonly MaxPool2d pool2 = MaxPool2d(2);
    private readonly Flatten flatten = Flatten();
    private readonly Linear fc1 = Linear(32 * 5 * 5, 128);
    private readonly ReLU relu3 = ReLU();
    private readonly Linear fc2 = Linear(128, 10);

    /// <summary>Creates the model with TorchSharp's default initialisation.</summary>
    public SmallCnn() : base(nameof(SmallCnn)) => RegisterComponents();

    /// <inheritdoc />
    public override Tensor forward(Tensor x)
    {
        using var _ = NewDisposeScope();
        var h = pool1.call(relu1.call(conv1.call(x)));
        h = pool2.call(relu2.call(conv2.call(h)));
        h = relu3.call(fc1.call(flatten.call(h)));
        return fc2.call(h).MoveToOuterDisposeScope();
    }
}

/// <summary>A plain ReLU MLP 784-256-128-10 built from a Sequential.</summary>
public sealed class Mlp : Module<Tensor, Tensor>
{
    private readonly Sequential layers = Sequential(
        ("fc1", Linear(784, 256)), ("relu1", ReLU()),
        ("fc2", Linear(256, 128)), ("relu2", ReLU()),
        ("fc3", Linear(128, 10)));

    /// <summary>Creates the model.</summary>
    public Mlp() : base(nameof(Mlp)) => RegisterComponents();

    /// <inheritdoc />
    public override Tensor forward(Tensor x) => layers.call(x);
}

/// <summary>Embedding + LSTM + Linear text classifier over int64 token ids [batch, sequence].</summary>
public sealed class TextLstm : Module<Tensor, Tensor>
{
    private readonly Embedding embedding = Embedding(1000, 64);
    private readonly LSTM lstm = LSTM(64, 128, batchFirst: true);
    private readonly Linear classifier = Linear(128, 5);

    /// <summary>Creates the model.</summary>
    public TextLstm() : base(nameof(TextLstm)) => RegisterComponents();

    /// <inheritdoc />
    public override Tensor forward(Tensor tokens)
    {
        using var _ = NewDisposeScope();
        var e = embedding.call(tokens);
        var (output, _, _) = lstm.call(e);
        var last = output[.., -1, ..];
        return classifier.call(last).MoveToOuterDisposeScope();
    }
}

/// <summary>A tiny language model whose output projection shares the embedding weight.</summary>
public sealed class TiedLm : Module<Tensor, Tensor>
{
    private readonly Embedding embed = Embedding(500, 32);
    private readonly Linear hidden = Linear(32, 32);
    private readonly Linear decoder = Linear(32, 500, hasBias: false);

    /// <summary>Creates the model and ties <c>decoder.weight</c> to <c>embed.weight</c>.</summary>
    public TiedLm() : base(nameof(TiedLm))
    {
        decoder.weight = embed.weight!;
        RegisterComponents();
    }

    /// <inheritdoc />
    public override Tensor forward(Tensor tokens)
    {
        using var _ = NewDisposeScope();
        var h = functional.tanh(hidden.call(embed.call(tokens)));
        return decoder.call(h).MoveToOuterDisposeScope();
    }
}

/// <summary>A block whose forward calls <c>proj.forward(x)</c> instead of <c>proj.call(x)</c>: hooks never see <c>proj</c>.</summary>
public sealed class BypassBlock : Module<Tensor, Tensor>
{
    private readonly Linear proj;
    private readonly ReLU act = ReLU();

    /// <summary>Creates the block.</summary>
    public BypassBlock(long features) : base(nameof(BypassBlock))
    {
        proj = Linear(features, features);
        RegisterComponents();
    }

    /// <inheritdoc />
#pragma warning disable TD1001 // deliberate fault: the hook-bypass demo model that TD1001 is shown on at run time
#pragma warning disable TD1001 // deliberate fault: the hook-bypass demo model that TD1001 is shown on at run time
    public override Tensor forward(Tensor x) => act.call(proj.forward(x));   // the trap: forward() skips hooks
#pragma warning restore TD1001
#pragma warning restore TD1001
}

/// <summary>Input layer, a <see cref="BypassBlock"/>, and a head.</summary>
public sealed class BypassNet : Module<Tensor, Tensor>
{
    private readonly Linear input = Linear(16, 32);
    private readonly BypassBlock block = new(32);
    private readonly Linear head = Linear(32, 4);

    /// <summary>Creates the model.</summary>
    public BypassNet() : base(nameof(BypassNet)) => RegisterComponents();

    /// <inheritdoc />
    public override Tensor forward(Tensor x) => head.call(block.call(input.call(x)));
}
