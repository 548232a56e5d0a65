// Overhead of the profiler and of the leak watch, measured side by side in one process (ABAB).
//
// dotnet run -c Release --project bench/TorchDoctor.Bench -- --profiler [--model cnn|resnet18|all] [--steps N] [--leak-steps N]
using System.Diagnostics;
using System.Globalization;
using TorchDoctor.Models;
using TorchDoctor.Profiling;
using TorchDoctor.Training;
using TorchSharp;
using static TorchSharp.torch;

internal static class ProfilerBench
{
    private static readonly CultureInfo Inv = CultureInfo.InvariantCulture;

    public static void Run(string[] args)
    {
        string model = Arg(args, "--model", "all");
        int steps = int.Parse(Arg(args, "--steps", "40"), Inv);
        int leakSteps = int.Parse(Arg(args, "--leak-steps", "600"), Inv);
        Console.WriteLine($"TorchDoctor profiler / leak-watch benchmark (torch threads: {get_num_threads()}, {Environment.ProcessorCount} cores, {DateTime.UtcNow:yyyy-MM-dd HH:mm} UTC)");
        var rows = new List<string>();
        if (model is "cnn" or "all")
        {
            rows.Add(Steps("demo CNN, batch 64", () => new SmallCnn(), [64, 1, 28, 28], steps, "plain vs plain (noise control)", Mode.Control));
            rows.Add(Steps("demo CNN, batch 64", () => new SmallCnn(), [64, 1, 28, 28], steps, "profiler on, every step recorded", Mode.Profiler));
            rows.Add(Steps("demo CNN, batch 64", () => new SmallCnn(), [64, 1, 28, 28], leakSteps, "Doctor default vs Doctor without leak watch", Mode.LeakWatch));
        }
        if (model is "resnet18" or "all")
        {
            int rs = Math.Max(4, steps / 8);
            rows.Add(Steps("resnet18, batch 8, 3×224×224", () => torchvision.models.resnet18(num_classes: 10), [8, 3, 224, 224], rs, "plain vs plain (noise control)", Mode.Control));
            rows.Add(Steps("resnet18, batch 8, 3×224×224", () => torchvision.models.resnet18(num_classes: 10), [8, 3, 224, 224], rs, "profiler on, every step recorded", Mode.Profiler));
            rows.Add(Forward(rs));
        }
        Console.WriteLine();
        Console.WriteLine("| model | comparison | steps per side | A ms/step | B ms/step | ratio B/A |");
        Console.WriteLine("|---|---|---|---|---|---|");
        foreach (var r in rows) Console.WriteLine(r);
    }

    private enum Mode { Control, Profiler, LeakWatch }

    private static string Steps(string label, Func<nn.Module<Tensor, Tensor>> make, long[] shape, int n, string name, Mode mode)
    {
        torch.manual_seed(1);
        using var a = make();
        torch.manual_seed(1);
        using var b = make();
        var optA = optim.Adam(a.parameters(), 1e-3);
        var optB = optim.Adam(b.parameters(), 1e-3);
        using var gen = new Generator(7);
        var batches = Enumerable.Range(0, 4).Select(_ => (rand(shape, generator: gen), randint(10, [shape[0]], generator: gen))).ToList();
        using var prof = mode == Mode.Profiler ? Profiler.Attach(b, new ProfilerOptions { Schedule = new ProfileSchedule(0, 0, int.MaxValue / 2), MaxSteps = 4 }) : null;
        using var docA = mode == Mode.LeakWatch ? Doctor.Attach(a, optA, new DoctorOptions { LeakWatch = false }) : null;
        using var docB = mode == Mode.LeakWatch ? Doctor.Attach(b, optB, new DoctorOptions()) : null;
        void Step(nn.Module<Tensor, Tensor> m, optim.Optimizer opt, Profiler? p, Doctor? d, int i)
        {
            var (x, y) = batches[i % batches.Count];
            using var scope = NewDisposeScope();
            p?.BeginStep();
            d?.BeginStep();
            Tensor output, loss;
            using (p?.Phase(StepPhase.Forward)) output = m.call(x);
            using (p?.Phase(StepPhase.Loss)) loss = nn.functional.cross_entropy(output, y);
            using (p?.Phase(StepPhase.Backward)) loss.backward();
            d?.AfterBackward(loss);
            using (p?.Phase(StepPhase.OptimizerStep)) { opt.step(); opt.zero_grad(); }
            d?.EndStep();
            p?.EndStep();
        }
        for (int i = 0; i < 3; i++) { Step(a, optA, null, docA, i); Step(b, optB, prof, docB, i); }
        double ta = 0, tb = 0;
        var sw = new Stopwatch();
        for (int i = 0; i < n; i++)
        {
            sw.Restart(); Step(a, optA, null, docA, i); ta += sw.Elapsed.TotalMilliseconds;
            sw.Restart(); Step(b, optB, prof, docB, i); tb += sw.Elapsed.TotalMilliseconds;
        }
        foreach (var (x, y) in batches) { x.Dispose(); y.Dispose(); }
        var row = $"| {label} | {name} | {n} | {ta / n:F2} | {tb / n:F2} | {tb / ta:F3} |";
        Console.WriteLine(row);
        return row;
    }

    /// <summary>resnet18 training forward: plain model vs profiled model (same weights, same input, interleaved), and module coverage.</summary>
    private static string Forward(int n)
    {
        torch.manual_seed(1);
        using var a = torchvision.models.resnet18(num_classes: 10);
        torch.manual_seed(1);
        using var b = torchvision.models.resnet18(num_classes: 10);
        using var x = rand(8, 3, 224, 224);
        using var prof = Profiler.Attach(b, new ProfilerOptions { Schedule = new ProfileSchedule(0, 1, int.MaxValue / 2), MaxSteps = n });
        double ta = 0, tb = 0;
        var sw = new Stopwatch();
        for (int i = 0; i <= n; i++)
        {
            using var scope = NewDisposeScope();
            sw.Restart(); a.call(x); double da = sw.Elapsed.TotalMilliseconds;
            prof.BeginStep();
            sw.Restart();
            using (prof.Phase(StepPhase.Forward)) b.call(x);
            double db = sw.Elapsed.TotalMilliseconds;
            prof.EndStep();
            if (i > 0) { ta += da; tb += db; }
        }
        var r = prof.Report();
        Console.WriteLine($"resnet18 forward: plain {ta / n:F2} ms, profiled {tb / n:F2} ms (ratio {tb / ta:F3}); module self times {r.ModuleForwardSelfMs:F2} ms = {r.ModuleForwardSelfMs / r.ForwardMs:P1} of the profiled forward phase {r.ForwardMs:F2} ms; unexplained {r.UnexplainedMs / r.StepMs:P1}");
        return $"| resnet18, batch 8, 3×224×224 | training forward only: plain vs profiled (module self times = {r.ModuleForwardSelfMs / r.ForwardMs:P1} of the profiled forward; other {(r.ForwardMs - r.ModelForwardMs) / r.ForwardMs:P1}) | {n} | {ta / n:F2} | {tb / n:F2} | {tb / ta:F3} |";
    }

    private static string Arg(string[] args, string name, string fallback)
    {
        var i = Array.IndexOf(args, name);
        return i >= 0 && i + 1 < args.Length ? args[i + 1] : fallback;
    }
}
