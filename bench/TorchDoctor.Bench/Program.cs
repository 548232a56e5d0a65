// Overhead of TorchDoctor's training probes, measured side by side in one process.
//
// Two identical models (same seed) train on the same batches: A plain, B with a Doctor attached. Steps
// alternate A, B, A, B, ... (ABAB) so both sides see the same machine load; the number of steps per side
// is a multiple of the sampling interval, so B includes its fully-probed steps in the right proportion.
// The ratio is the total time of B's steps over the total time of A's.
//
// dotnet run -c Release --project bench/TorchDoctor.Bench -- [--model cnn|resnet18|all] [--blocks N] [--size PX]
using System.Diagnostics;
using System.Globalization;
using TorchDoctor.Models;
using TorchDoctor.Probes;
using TorchDoctor.Training;
using TorchSharp;
using static TorchSharp.torch;

if (args.Contains("--profiler")) { ProfilerBench.Run(args); return; }
var model = Arg("--model", "all");
int blocks = int.Parse(Arg("--blocks", "12"), CultureInfo.InvariantCulture);
int size = int.Parse(Arg("--size", "224"), CultureInfo.InvariantCulture);
var rows = new List<string[]>();
Console.WriteLine($"TorchDoctor overhead benchmark  (torch threads: {torch.get_num_threads()}, {Environment.ProcessorCount} cores, {DateTime.UtcNow:yyyy-MM-dd})");

var configs = new (string Name, ProbeKinds Kinds, int Interval, double Goal)[]
{
    ("every step, all probes", ProbeKinds.All, 1, 1.05),
    ($"default options (interval {new DoctorOptions().SampleInterval})", new DoctorOptions().Probes, new DoctorOptions().SampleInterval, 1.01),
    ("NaN-origin probes only, every step", ProbeKinds.NonFinite, int.MaxValue, 1.10),
    ("hooks attached, no probes", ProbeKinds.None, int.MaxValue, 1.01),
};

if (model is "cnn" or "all")
    foreach (var c in configs)
        rows.Add(Measure("demo CNN, batch 64, 1×28×28", () => new SmallCnn(), [64, 1, 28, 28], 10, c, blocks));
if (model is "resnet18" or "all")
    foreach (var c in configs)
        rows.Add(Measure($"resnet18, batch 8, 3×{size}×{size}", () => torchvision.models.resnet18(num_classes: 10), [8, 3, size, size], 10, c,
            Math.Max(2, blocks / (c.Interval == 1 ? 1 : 4))));

Console.WriteLine();
Console.WriteLine("| model | monitoring | steps per side | plain ms/step | monitored ms/step | ratio | goal |");
Console.WriteLine("|---|---|---|---|---|---|---|");
foreach (var r in rows) Console.WriteLine("| " + string.Join(" | ", r) + " |");

static string[] Measure(string label, Func<nn.Module<Tensor, Tensor>> make, long[] shape, int classes,
    (string Name, ProbeKinds Kinds, int Interval, double Goal) c, int blocks)
{
    int block = c.Interval is 1 or int.MaxValue ? 10 : c.Interval;
    torch.manual_seed(1);
    using var a = make();
    torch.manual_seed(1);
    using var b = make();
    var optA = optim.Adam(a.parameters(), 1e-3);
    var optB = optim.Adam(b.parameters(), 1e-3);
    using var gen = new Generator(7);
    var batches = Enumerable.Range(0, 8).Select(_ => (rand(shape, generator: gen), randint(classes, [shape[0]], generator: gen))).ToList();
    using var doctor = Doctor.Attach(b, optB, new DoctorOptions { SampleInterval = c.Interval == int.MaxValue ? 1_000_000 : c.Interval, Probes = c.Kinds });
    long stepA = 0, stepB = 0;
    void Step(nn.Module<Tensor, Tensor> m, optim.Optimizer opt, Doctor? d, long i)
    {
        var (x, y) = batches[(int)(i % batches.Count)];
        using var scope = NewDisposeScope();
        d?.BeginStep();
        opt.zero_grad();
        var loss = nn.functional.cross_entropy(m.call(x), y);
        loss.backward();
        d?.AfterBackward(loss);
        opt.step();
        d?.EndStep();
    }
    // Warm-up: one block each, not timed.
    for (int i = 0; i < block; i++) { Step(a, optA, null, stepA++); Step(b, optB, doctor, stepB++); }
    double ta = 0, tb = 0;
    var sw = new Stopwatch();
    for (int k = 0; k < blocks * block; k++)
    {
        sw.Restart();
        Step(a, optA, null, stepA++);
        ta += sw.Elapsed.TotalMilliseconds;
        sw.Restart();
        Step(b, optB, doctor, stepB++);
        tb += sw.Elapsed.TotalMilliseconds;
    }
    int n = blocks * block;
    double ratio = tb / ta;
    Console.WriteLine($"{label,-34} {c.Name,-40} plain {ta / n,8:F2} ms  monitored {tb / n,8:F2} ms  ratio {ratio:F3}  (goal ≤ {c.Goal:F2})");
    foreach (var (x, y) in batches) { x.Dispose(); y.Dispose(); }
    return [label, c.Name, n.ToString(CultureInfo.InvariantCulture), (ta / n).ToString("F2", CultureInfo.InvariantCulture),
        (tb / n).ToString("F2", CultureInfo.InvariantCulture), ratio.ToString("F3", CultureInfo.InvariantCulture),
        $"≤ {c.Goal:F2} {(ratio <= c.Goal ? "met" : "missed")}"];
}

string Arg(string name, string fallback)
{
    var i = Array.IndexOf(args, name);
    return i >= 0 && i + 1 < args.Length ? args[i + 1] : fallback;
}
