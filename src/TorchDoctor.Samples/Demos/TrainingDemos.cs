using TorchDoctor.Findings;
using TorchDoctor.Training;
using TorchSharp;
using TorchSharp.Modules;
using static TorchSharp.torch;
using static TorchSharp.torch.nn;

namespace TorchDoctor.Demos;

/// <summary>Shared shape of the training case studies: a faulty recipe, a fixed one, and the doctor on both.</summary>
public abstract class TrainingDemo : IDemoCase
{
    /// <inheritdoc />
    public abstract string Name { get; }
    /// <inheritdoc />
    public abstract string Description { get; }
    /// <summary>Default number of steps.</summary>
    protected virtual int DefaultSteps => 300;
    /// <summary>Sampling interval of the doctor in this demo.</summary>
    protected virtual int Interval => 10;
    /// <summary>False for the healthy reference case: it runs once and is not called faulty.</summary>
    protected virtual bool HasFault => true;
    /// <summary>What the fix changes.</summary>
    protected abstract string Remedy { get; }
    internal abstract Recipe Faulty { get; }
    internal abstract Recipe Fixed { get; }

    /// <inheritdoc />
    public DemoResult Run(DemoOptions options)
    {
        var (train, test) = DemoTrainer.Load(options);
        using (train)
        using (test)
        {
            int steps = options.Steps ?? DefaultSteps;
            var before = DemoTrainer.Run(Faulty, options, train, test, steps, Interval);
            // A case without a fault has nothing to fix: it trains once.
            var after = options.Fix && HasFault ? DemoTrainer.Run(Fixed, options, train, test, steps, Interval) : null;
            return new DemoResult(Name, before, after, Remedy) { Faulty = HasFault };
        }
    }

    /// <summary>
    /// A flattening MLP: Flatten, then per hidden width Linear (+ <paramref name="norm"/> as bn{i}, when given) +
    /// activation, then Linear to 10 classes, as a named Sequential.
    /// </summary>
    internal static Sequential Mlp(int[] hidden, Func<Module<Tensor, Tensor>> activation, string activationName,
        Func<long, Module<Tensor, Tensor>>? norm = null)
    {
        var layers = new List<(string, Module<Tensor, Tensor>)> { ("flatten", Flatten()) };
        long inF = 28 * 28;
        for (int i = 0; i < hidden.Length; i++)
        {
            layers.Add(($"fc{i + 1}", Linear(inF, hidden[i])));
            if (norm is not null) layers.Add(($"bn{i + 1}", norm(hidden[i])));
            layers.Add(($"{activationName}{i + 1}", activation()));
            inF = hidden[i];
        }
        layers.Add(("out", Linear(inF, 10)));
        return Sequential(layers);
    }

    internal static void Init(Sequential model, Action<string, Linear> init)
    {
        using var _ = no_grad();
        foreach (var (name, m) in model.named_children())
            if (m is Linear l) init(name, l);
    }
}

/// <summary>The healthy reference run: the demo CNN with Adam. No warning or error may appear.</summary>
public sealed class CleanDemo : TrainingDemo
{
    /// <inheritdoc />
    public override string Name => "clean";
    /// <inheritdoc />
    public override string Description => "A healthy run (the demo CNN, Adam 1e-3): the doctor should stay quiet.";
    /// <inheritdoc />
    protected override string Remedy => "Nothing to fix.";
    /// <inheritdoc />
    protected override bool HasFault => false;
    internal override Recipe Faulty => new("healthy", () => new Models.SmallCnn(), m => optim.Adam(m.parameters(), 1e-3));
    internal override Recipe Fixed => Faulty;
}

/// <summary>Exploding gradients: a deep ReLU MLP initialised far too large, trained with plain SGD.</summary>
public sealed class ExplodingGradientsDemo : TrainingDemo
{
    /// <inheritdoc />
    public override string Name => "exploding-gradients";
    /// <inheritdoc />
    public override string Description => "Deep ReLU MLP with weights initialised ~5× too large and SGD lr 0.05: gradients and loss blow up.";
    /// <inheritdoc />
    protected override int DefaultSteps => 150;
    /// <inheritdoc />
    protected override int Interval => 5;
    /// <inheritdoc />
    protected override string Remedy => "init.kaiming_normal_ on every Linear (std √(2/fan_in)), clip_grad_norm_(max_norm: 5) before optimizer.step(), SGD lr 0.01.";

    private static Sequential Model(bool badInit)
    {
        var m = Mlp([256, 256, 256, 256], () => ReLU(), "relu");
        Init(m, (_, l) =>
        {
            if (badInit) init.normal_(l.weight, 0, 0.25);
            else init.kaiming_normal_(l.weight, nonlinearity: init.NonlinearityType.ReLU);
            init.zeros_(l.bias!);
        });
        return m;
    }

    internal override Recipe Faulty => new("before: N(0, 0.25) init, SGD lr 0.05", () => Model(true), m => optim.SGD(m.parameters(), 0.05));
    internal override Recipe Fixed => new("after: Kaiming init, clip 5, SGD lr 0.01", () => Model(false), m => optim.SGD(m.parameters(), 0.01), ClipNorm: 5);
}

/// <summary>Vanishing gradients: a deep sigmoid MLP.</summary>
public sealed class VanishingGradientsDemo : TrainingDemo
{
    /// <inheritdoc />
    public override string Name => "vanishing-gradients";
    /// <inheritdoc />
    public override string Description => "Ten-layer sigmoid MLP with SGD: the first layer's gradient is ~1e-8 of the last layer's.";
    /// <inheritdoc />
    protected override int DefaultSteps => 150;
    /// <inheritdoc />
    protected override string Remedy => "Linear → BatchNorm1d → ReLU blocks instead of Linear → Sigmoid, init.kaiming_normal_, Adam lr 1e-3.";

    private static Sequential Model(bool sigmoid)
    {
        var widths = Enumerable.Repeat(128, 10).ToArray();
        if (sigmoid) return Mlp(widths, () => Sigmoid(), "sigmoid");
        var m = Mlp(widths, () => ReLU(), "relu", norm: n => BatchNorm1d(n));
        Init(m, (name, l) =>
        {
            if (name == "out") return;   // hidden layers only: the output layer keeps TorchSharp's default init
            init.kaiming_normal_(l.weight, nonlinearity: init.NonlinearityType.ReLU);
            init.zeros_(l.bias!);
        });
        return m;
    }

    internal override Recipe Faulty => new("before: 10 × Sigmoid, SGD lr 0.1", () => Model(true), m => optim.SGD(m.parameters(), 0.1));
    internal override Recipe Fixed => new("after: 10 × BatchNorm + ReLU, Kaiming, Adam 1e-3", () => Model(false), m => optim.Adam(m.parameters(), 1e-3));
}

/// <summary>Dead ReLU: a hidden layer whose biases start strongly negative.</summary>
public sealed class DeadReluDemo : TrainingDemo
{
    /// <inheritdoc />
    public override string Name => "dead-relu";
    /// <inheritdoc />
    public override string Description => "MLP whose second layer's biases start at -3: most of its ReLU units never fire.";
    /// <inheritdoc />
    protected override int DefaultSteps => 150;
    /// <inheritdoc />
    protected override string Remedy => "zero biases (init.zeros_) with Kaiming init, and LeakyReLU(0.01) so units can recover.";

    private static Sequential Model(bool broken)
    {
        var m = broken ? Mlp([256, 256], () => ReLU(), "relu") : Mlp([256, 256], () => LeakyReLU(0.01), "relu");
        Init(m, (name, l) =>
        {
            if (broken && name == "fc2") init.constant_(l.bias!, -3.0);
            if (!broken) { init.kaiming_normal_(l.weight, nonlinearity: init.NonlinearityType.LeakyReLU); init.zeros_(l.bias!); }
        });
        return m;
    }

    internal override Recipe Faulty => new("before: fc2.bias = -3, ReLU", () => Model(true), m => optim.SGD(m.parameters(), 0.05));
    internal override Recipe Fixed => new("after: zero bias, LeakyReLU(0.01)", () => Model(false), m => optim.SGD(m.parameters(), 0.05));
}

/// <summary>A feature transform that takes the log of its input (the nan-origin demo's culprit).</summary>
public sealed class LogFeatures : Module<Tensor, Tensor>
{
    private readonly double _eps;

    /// <summary>Creates the module; <paramref name="offset"/> is added before the log (0 reproduces the bug, 1 is log1p).</summary>
    public LogFeatures(double offset) : base(nameof(LogFeatures)) => _eps = offset;

    /// <inheritdoc />
    public override Tensor forward(Tensor x) => _eps == 0 ? x.log() : _eps == 1 ? x.log1p() : (x + _eps).log();
}

/// <summary>NaN origin: log of ReLU outputs that reach exactly 0.</summary>
public sealed class NanOriginDemo : TrainingDemo
{
    /// <inheritdoc />
    public override string Name => "nan-origin";
    /// <inheritdoc />
    public override string Description => "A custom layer takes log() of ReLU features that reach 0: -inf, then NaN loss. The doctor names the layer.";
    /// <inheritdoc />
    protected override int DefaultSteps => 100;
    /// <inheritdoc />
    protected override string Remedy => "features.log computes log1p(x) = log(1 + x), finite at 0 (LogFeatures(offset: 1)).";

    private static Sequential Model(double eps) => Sequential(
        ("flatten", Flatten()),
        ("features", Sequential(("fc", Linear(28 * 28, 64)), ("relu", ReLU()), ("log", new LogFeatures(eps)))),
        ("classifier", Linear(64, 10)));

    internal override Recipe Faulty => new("before: log(x)", () => Model(0), m => optim.Adam(m.parameters(), 1e-3));
    internal override Recipe Fixed => new("after: log1p(x)", () => Model(1), m => optim.Adam(m.parameters(), 1e-3));
}
