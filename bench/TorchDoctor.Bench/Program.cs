// Overhead of TorchDoctor's training probes, measured side by side in one process.
//
// Two identical models (same seed) train on the same batches: A plain, B with a Doctor attached. Steps
// alternate A, B, A, B, ... (ABAB) so both sides see the same machine load. The default-options row runs a
// whole training run from the doctor's step 0 (its dense first steps included).
// The ratio is the total time of B's steps over the total time of A's.
//
// dotnet run -c Release --project bench/TorchDoctor.Bench -- [--model cnn|resnet18|all] [--blocks N] [--size PX]
//     [--run-steps N] [--config PREFIX] [--threads N]
// dotnet run -c Release --project bench/TorchDoctor.Bench -- --micro     (ways to compute the statistics, µs per step)
// dotnet run -c Release --project bench/TorchDoctor.Bench -- --detect    (time to the first finding per demo case)
// dotnet run -c Release --project bench/TorchDoctor.Bench -- --lr-finder (issue 12's LR finder acceptance on Fashion-MNIST)
// dotnet run -c Release --project bench/TorchDoctor.Bench -- --lr-sweep  (plain SGD's LR range test: sweep length, standardised inputs)
using System.Diagnostics;
using System.Globalization;
using TorchDoctor.Models;
using TorchDoctor.Probes;
using TorchDoctor.Training;
using TorchSharp;
using static TorchSharp.torch;

if (args.Contains("--threads")) torch.set_num_threads(int.Parse(Arg("--threads", "2"), CultureInfo.InvariantCulture));
if (args.Contains("--micro"))
{
    ProbeMicro.Run(int.Parse(Arg("--rounds", "30"), CultureInfo.InvariantCulture));
    return;
}
if (args.Contains("--detect"))
{
    DetectTime.Run(int.Parse(Arg("--max-steps", "300"), CultureInfo.InvariantCulture));
    return;
}

if (args.Contains("--profiler")) { ProfilerBench.Run(args); return; }
if (args.Contains("--lr-finder")) { LrFinderBench.Run(int.Parse(Arg("--seed", "0"), CultureInfo.InvariantCulture)); return; }
if (args.Contains("--lr-sweep")) { SgdSweepBench.Run(int.Parse(Arg("--seed", "0"), CultureInfo.InvariantCulture)); return; }
var model = Arg("--model", "all");
int blocks = int.Parse(Arg("--blocks", "12"), CultureInfo.InvariantCulture);
int size = int.Parse(Arg("--size", "224"), CultureInfo.InvariantCulture);
int runSteps = int.Parse(Arg("--run-steps", "2000"), CultureInfo.InvariantCulture);
var rows = new List<string[]>();
Console.WriteLine($"TorchDoctor overhead benchmark  (torch threads: {torch.get_num_threads()}, {Environment.ProcessorCount} cores, {DateTime.UtcNow:yyyy-MM-dd HH:mm} UTC, load average {LoadAverage()})");

// Steps: 0 = blocks × 10 steps; otherwise this many steps per side, counted from the doctor's first step.
var configs = new (string Name, ProbeKinds Kinds, int Interval, bool Schedule, double CnnGoal, double ResnetGoal, bool FromStart, bool LeakWatch)[]
{
    ("every step, all probes", ProbeKinds.All, 1, false, 1.15, 1.05, false, false),
    ($"default options (schedule, interval {new DoctorOptions().SampleInterval}), run from step 0", new DoctorOptions().Probes, new DoctorOptions().SampleInterval, true, double.NaN, 1.01, true, true),
    ($"default options without the leak watch, run from step 0", new DoctorOptions().Probes, new DoctorOptions().SampleInterval, true, double.NaN, double.NaN, true, false),
    ("NaN/Inf watch only, every step", ProbeKinds.NonFinite, int.MaxValue, false, 1.05, 1.05, false, false),
    ("hooks attached, no probes (noise control)", ProbeKinds.None, int.MaxValue, false, double.NaN, double.NaN, false, false),
};
var only = Arg("--config", "");

if (model is "cnn" or "all")
    foreach (var c in configs.Where(c => only.Length == 0 || c.Name.StartsWith(only, StringComparison.Ordinal)))
        rows.Add(Measure("demo CNN, batch 64, 1×28×28", () => new SmallCnn(), [64, 1, 28, 28], 10, c, c.FromStart ? runSteps : blocks * 10, c.CnnGoal));
if (model is "resnet18" or "all")
    foreach (var c in configs.Where(c => only.Length == 0 || c.Name.StartsWith(only, StringComparison.Ordinal)))
        rows.Add(Measure($"resnet18, batch 8, 3×{size}×{size}", () => torchvision.models.resnet18(num_classes: 10), [8, 3, size, size], 10, c,
            c.FromStart ? runSteps : blocks * 10, c.ResnetGoal));

Console.WriteLine();
Console.WriteLine("| model | monitoring | steps per side | plain ms/step | monitored ms/step | ratio | goal |");
Console.WriteLine("|---|---|---|---|---|---|---|");
foreach (var r in rows) Console.WriteLine("| " + string.Join(" | ", r) + " |");

static string[] Measure(string label, Func<nn.Module<Tensor, Tensor>> make, long[] shape, int classes,
    (string Name, ProbeKinds Kinds, int Interval, bool Schedule, double CnnGoal, double ResnetGoal, bool FromStart, bool LeakWatch) c, int steps, double goal)
{
    torch.manual_seed(1);
    using var a = make();
    torch.manual_seed(1);
    using var b = make();
    var optA = optim.Adam(a.parameters(), 1e-3);
    var optB = optim.Adam(b.parameters(), 1e-3);
    using var gen = new Generator(7);
    var batches = Enumerable.Range(0, 8).Select(_ => (rand(shape, generator: gen), randint(classes, [shape[0]], generator: gen))).ToList();
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
    // Warm-up without the doctor (10 steps each, not timed), so a run measured "from step 0" includes the schedule's dense start.
    for (int i = 0; i < 10; i++) { Step(a, optA, null, stepA++); Step(b, optB, null, stepB++); }
    using var doctor = Doctor.Attach(b, optB, new DoctorOptions
    {
        SampleInterval = c.Interval == int.MaxValue ? 1_000_000 : c.Interval, Probes = c.Kinds, Schedule = c.Schedule ? new() : null,
        LeakWatch = c.LeakWatch,
    });
    double ta = 0, tb = 0;
    var sw = new Stopwatch();
    for (int k = 0; k < steps; k++)
    {
        sw.Restart();
        Step(a, optA, null, stepA++);
        ta += sw.Elapsed.TotalMilliseconds;
        sw.Restart();
        Step(b, optB, doctor, stepB++);
        tb += sw.Elapsed.TotalMilliseconds;
    }
    double ratio = tb / ta;
    var sampled = doctor.Schedule?.SampledSteps;
    var name = c.Name + (sampled is { } n0 ? $" ({n0} sampled steps)" : "");
    var verdict = double.IsNaN(goal) ? (c.Kinds == ProbeKinds.None ? "noise control" : "within the noise-control row") : $"≤ {goal:F2} {(ratio <= goal ? "met" : "missed")}";
    Console.WriteLine($"{label,-34} {name,-60} plain {ta / steps,8:F2} ms  monitored {tb / steps,8:F2} ms  ratio {ratio:F3}  ({verdict})");
    foreach (var (x, y) in batches) { x.Dispose(); y.Dispose(); }
    return [label, name, steps.ToString(CultureInfo.InvariantCulture), (ta / steps).ToString("F2", CultureInfo.InvariantCulture),
        (tb / steps).ToString("F2", CultureInfo.InvariantCulture), ratio.ToString("F3", CultureInfo.InvariantCulture), verdict];
}

static string LoadAverage()
{
    try { return File.ReadAllText("/proc/loadavg").Split(' ')[0]; }
    catch (IOException) { return "?"; }
}

string Arg(string name, string fallback)
{
    var i = Array.IndexOf(args, name);
    return i >= 0 && i + 1 < args.Length ? args[i + 1] : fallback;
}
