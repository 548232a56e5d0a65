// Time to detect: for each faulty case, the step and the seconds from the start of training (first BeginStep) to
// the first warning or error, at default options (sampling schedule) and with the old fixed interval of 100.
//
// dotnet run -c Release --project bench/TorchDoctor.Bench -- --detect [--max-steps N]
using System.Diagnostics;
using TorchDoctor.Data;
using TorchDoctor.Demos;
using TorchDoctor.Findings;
using TorchDoctor.Training;
using TorchSharp;
using TorchSharp.Modules;
using static TorchSharp.torch;
using static TorchSharp.torch.nn;

internal static class DetectTime
{
    private sealed class WhereSqrt : Module<Tensor, Tensor>
    {
        public WhereSqrt() : base(nameof(WhereSqrt)) { }
        public override Tensor forward(Tensor x) => torch.where(x > 0, x.sqrt(), torch.zeros_like(x));
    }

    private static Sequential Mlp(int[] hidden, Func<Module<Tensor, Tensor>> act, string name, Action<string, Linear>? init0 = null)
    {
        var layers = new List<(string, Module<Tensor, Tensor>)> { ("flatten", Flatten()) };
        long inF = 28 * 28;
        for (int i = 0; i < hidden.Length; i++)
        {
            layers.Add(($"fc{i + 1}", Linear(inF, hidden[i])));
            layers.Add(($"{name}{i + 1}", act()));
            inF = hidden[i];
        }
        layers.Add(("out", Linear(inF, 10)));
        var m = Sequential(layers);
        if (init0 is not null)
            using (no_grad())
                foreach (var (n, c) in m.named_children())
                    if (c is Linear l) init0(n, l);
        return m;
    }

    private static readonly (string Name, string Code, Func<Module<Tensor, Tensor>> Model, Func<Module<Tensor, Tensor>, optim.Optimizer> Opt)[] Cases =
    [
        ("vanishing (12 × sigmoid)", TrainingCodes.VanishingGradients.Code, () => Mlp(Enumerable.Repeat(128, 12).ToArray(), () => Sigmoid(), "sigmoid"), m => optim.SGD(m.parameters(), 0.1)),
        ("dead ReLU (fc1 bias −10)", TrainingCodes.DeadRelu.Code, () => Mlp([256, 256], () => ReLU(), "relu", (n, l) => { if (n == "fc1") init.constant_(l.bias!, -10.0); }), m => optim.SGD(m.parameters(), 0.05)),
        ("exploding (N(0, 0.25) init)", TrainingCodes.ExplodingGradients.Code, () => Mlp([256, 256, 256, 256], () => ReLU(), "relu", (_, l) => { init.normal_(l.weight, 0, 0.25); init.zeros_(l.bias!); }), m => optim.SGD(m.parameters(), 0.05)),
        ("NaN forward (log of ReLU)", TrainingCodes.NonFiniteForward.Code, () => Sequential(("flatten", Flatten()),
            ("features", Sequential(("fc", Linear(28 * 28, 64)), ("relu", ReLU()), ("log", new LogFeatures(0)))), ("classifier", Linear(64, 10))), m => optim.Adam(m.parameters(), 1e-3)),
        ("NaN backward (where/sqrt)", TrainingCodes.NonFiniteBackward.Code, () => Sequential(("flatten", Flatten()), ("fc", Linear(28 * 28, 64)), ("root", new WhereSqrt()), ("head", Linear(64, 10))), m => optim.SGD(m.parameters(), 0.01)),
    ];

    public static void Run(int maxSteps)
    {
        var sets = new List<(string, TorchDoctor.Training.DemoData)> { ("generated", TorchDoctor.Training.DemoData.Generated(2048, 5)) };
        if (FashionMnist.IsAvailable())
        {
            using var ds = FashionMnist.Load(train: true);
            using var scope = NewDisposeScope();
            var img = ds.Images;
            int n = 2048, px = (int)(img.Dims[1] * img.Dims[2]);
            var images = tensor(img.Data.AsSpan(0, n * px).ToArray(), [n, 1, img.Dims[1], img.Dims[2]], ScalarType.Byte).to(ScalarType.Float32).div_(255f);
            sets.Add(("Fashion-MNIST", TorchDoctor.Training.DemoData.FromTensors(images, tensor(ds.AllLabels.Take(n).ToArray(), ScalarType.Int64), 10, "fmnist")));
        }
        Console.WriteLine($"| case | data | expected | default options: first finding | step | seconds | fixed interval 100: step | seconds |");
        Console.WriteLine("|---|---|---|---|---|---|---|---|");
        foreach (var (dataName, data) in sets)
            foreach (var c in Cases)
            {
                var a = Detect(c, data, new DoctorOptions(), maxSteps);
                var b = Detect(c, data, new DoctorOptions { Schedule = null }, maxSteps);
                Console.WriteLine($"| {c.Name} | {dataName} | {c.Code} | {a.What} | {a.Step} | {a.Seconds} | {b.Step} | {b.Seconds} |");
            }
    }

    private static (string What, string Step, string Seconds) Detect((string Name, string Code, Func<Module<Tensor, Tensor>> Model, Func<Module<Tensor, Tensor>, optim.Optimizer> Opt) c,
        TorchDoctor.Training.DemoData data, DoctorOptions options, int maxSteps)
    {
        torch.manual_seed(3);
        using var model = c.Model();
        var opt = c.Opt(model);
        var sw = new Stopwatch();
        using var doctor = Doctor.Attach(model, opt, options);
        Finding? first = null;
        double seconds = 0;
        doctor.FindingRaised += (_, f) =>
        {
            if (first is null && f.Severity != Severity.Info && f.Code == c.Code) { first = f; seconds = sw.Elapsed.TotalSeconds; }
        };
        int s = 0;
        sw.Start();
        foreach (var (x, y) in data.Forever(64, 1))
        {
            using (NewDisposeScope())
            {
                doctor.BeginStep();
                opt.zero_grad();
                var loss = functional.cross_entropy(model.call(x), y);
                loss.backward();
                doctor.AfterBackward(loss);
                opt.step();
                doctor.EndStep();
            }
            x.Dispose();
            y.Dispose();
            if (first is not null || ++s == maxSteps) break;
        }
        return first is null
            ? ($"none in {maxSteps} steps", "–", "–")
            : ($"{first.Slug} at {first.Module ?? "(model)"}", first.Step?.ToString(System.Globalization.CultureInfo.InvariantCulture) ?? "?", seconds.ToString("F2", System.Globalization.CultureInfo.InvariantCulture));
    }
}
