using System.Globalization;
using TorchDoctor.Data;
using TorchDoctor.Models;
using TorchDoctor.Training;
using TorchSharp;
using static TorchSharp.torch;

/// <summary>
/// Why the slow-convergence demo standardises its inputs and sweeps 300 steps: the LR range test with plain SGD on the demo
/// CNN (1e-4 → 10, seeded batches of 64), for raw [0, 1] and standardised inputs, generated data and Fashion-MNIST, and
/// sweeps of 100, 200, 300 and 500 steps; then the loss plain SGD reaches at fixed LRs after 300 and 900 steps. From the
/// default init SGD sits on the ln 10 plateau until it has spent enough steps at a useful LR, so a short sweep has no descent
/// to read. Deterministic: the numbers do not depend on machine load.
/// </summary>
internal static class SgdSweepBench
{
    public static void Run(int seed)
    {
        Console.WriteLine($"LR range test with plain SGD on the demo CNN, sweep 1e-4 → 10, batch 64, seed {seed}");
        var sets = new List<(string Name, DemoData Data)>();
        using var all = DemoData.Generated(5120, seed);
        var (generated, held) = all.Split(1024);   // the demos' training split
        using var _ = generated;
        held.Dispose();
        sets.Add(("generated", generated));
        DemoData? fashion = null;
        if (FashionMnist.IsAvailable())
        {
            var ds = FashionMnist.Load(true);
            using var scope = NewDisposeScope();
            var images = tensor(ds.Images.Data, [ds.Images.Count, 1, ds.Images.Dims[1], ds.Images.Dims[2]], ScalarType.Byte).to(ScalarType.Float32).div_(255f);
            fashion = DemoData.FromTensors(images, tensor(ds.AllLabels.ToArray(), ScalarType.Int64), 10, "fashion-mnist");
            sets.Add(("fashion-mnist", fashion));
        }
        else Console.WriteLine($"(Fashion-MNIST is not installed: {FashionMnist.Package}; generated data only)");
        try
        {
            Console.WriteLine();
            Console.WriteLine("| data | inputs | sweep steps | descent | smoothed-loss minimum at lr | suggestion |");
            Console.WriteLine("|---|---|---|---|---|---|");
            foreach (var (name, raw) in sets)
                foreach (bool standardise in new[] { false, true })
                {
                    using var d = standardise ? Standardised(raw) : null;
                    var data = d ?? raw;
                    foreach (int steps in new[] { 100, 200, 300, 500 })
                    {
                        torch.manual_seed(seed);
                        using var probe = new SmallCnn();
                        var batches = data.Forever(64, seed + 17).Take(steps).ToList();
                        var r = LrFinder.Run(probe, optim.SGD(probe.parameters(), 1e-3), batches, (o, y) => nn.functional.cross_entropy(o, y),
                            new LrFinderOptions { StartLr = 1e-4, EndLr = 10, Steps = steps });
                        foreach (var (x, y) in batches) { x.Dispose(); y.Dispose(); }
                        Console.WriteLine(string.Create(CultureInfo.InvariantCulture,
                            $"| {name} | {(standardise ? "standardised" : "raw [0, 1]")} | {r.LearningRates.Count}{(r.Diverged ? " (diverged)" : "")} | {(r.Descended ? "yes" : "no")} | {r.MinimumLr:G3} | {r.Suggestion:G3} |"));
                    }
                }
            Console.WriteLine();
            Console.WriteLine("| data | inputs | SGD lr | loss at step 300 | loss at step 900 |");
            Console.WriteLine("|---|---|---|---|---|");
            foreach (var (name, raw) in sets)
                foreach (bool standardise in new[] { false, true })
                {
                    using var d = standardise ? Standardised(raw) : null;
                    var data = d ?? raw;
                    foreach (double lr in new[] { 1e-3, 1e-2, 3e-2, 1e-1 })
                    {
                        var (at300, at900) = Train(data, lr, seed);
                        Console.WriteLine(string.Create(CultureInfo.InvariantCulture, $"| {name} | {(standardise ? "standardised" : "raw [0, 1]")} | {lr:G3} | {at300:F3} | {at900:F3} |"));
                    }
                }
            Console.WriteLine("(loss: mean training loss of the 20 steps before; the demo's faulty run is SGD 1e-3 for 300 steps)");
        }
        finally
        {
            fashion?.Dispose();
        }
    }

    private static DemoData Standardised(DemoData d)
    {
        var (mean, std) = d.PixelStats();
        return d.Standardized(mean, std);
    }

    private static (double At300, double At900) Train(DemoData data, double lr, int seed)
    {
        torch.manual_seed(seed);
        using var model = new SmallCnn();
        var opt = optim.SGD(model.parameters(), lr);
        var losses = new List<double>();
        foreach (var (x, y) in data.Forever(64, seed))
        {
            using (NewDisposeScope())
            {
                opt.zero_grad();
                var loss = nn.functional.cross_entropy(model.call(x), y);
                loss.backward();
                opt.step();
                losses.Add(loss.item<float>());
            }
            x.Dispose(); y.Dispose();
            if (losses.Count == 900) break;
        }
        return (losses.Skip(280).Take(20).Average(), losses.Skip(880).Average());
    }
}
