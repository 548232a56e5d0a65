using TorchDoctor.Demos;
using TorchDoctor.Detectors;
using TorchDoctor.Observations;
using TorchDoctor.Training;
using Xunit;
using Xunit.Abstractions;
using static TorchSharp.torch;
using static TorchSharp.torch.nn;

namespace TorchDoctor.Tests.Memory;

/// <summary>The leak rules on synthetic checks, and the leak watch on real leaking and clean loops at default options.</summary>
[Collection(ProcessMemoryCollection.Name)]
public class LeakWatchTests(ITestOutputHelper output)
{
    private const long MB = 1 << 20;

    private static List<MemoryCheck> Series(Func<long, (long Tensors, long Bytes)> f, long from = 5, long to = 100, long every = 5)
    {
        var list = new List<MemoryCheck>();
        for (long s = from; s <= to; s += every) { var (t, b) = f(s); list.Add(new MemoryCheck(s, t, b, 1)); }
        return list;
    }

    [Fact]
    public void Flat_counts_with_spikes_and_a_warmup_decline_are_no_leak()
    {
        var spikes = Series(s => (51, 62 * MB + (s % 35 == 0 ? 7 * MB : 0) + (s < 40 ? (40 - s) * 60_000 : 0) + (s % 2) * 200_000));
        Assert.Null(LeakDetector.Detect(spikes, new LeakThresholds()));
    }

    [Fact]
    public void Tensor_growth_after_collection_is_a_tensor_leak_with_its_rate_and_start()
    {
        var checks = Series(s => (s < 30 ? 50 : 50 + (s - 30), 62 * MB + s * 1000), to: 60);
        var f = LeakDetector.Detect(checks, new LeakThresholds());
        Assert.NotNull(f);
        Assert.Equal("TD6001", f!.Code);
        Assert.Equal("30", f.Evidence["growing since step"]);
        Assert.Equal("1", f.Evidence["tensors per step"]);
    }

    [Fact]
    public void Rising_native_floor_with_flat_tensors_is_a_graph_leak_and_a_slow_drift_is_not()
    {
        var leak = Series(s => (51, 62 * MB + s * 12_000 + (s % 10 == 0 ? 500_000 : 0)), to: 140);
        Assert.Null(LeakDetector.Detect(leak, new LeakThresholds()));   // the native rule is opt-in
        Assert.Equal("TD6002", LeakDetector.Detect(leak, new LeakThresholds { NativeRule = true, MinNativeRise = 256 * 1024 })?.Code);
        var drift = Series(s => (51, 62 * MB + s * 200), to: 300);   // 0.2 KB/step, as a clean run's floor
        Assert.Null(LeakDetector.Detect(drift, new LeakThresholds { NativeRule = true, MinNativeRise = 256 * 1024 }));
    }

    private static Module<Tensor, Tensor> Mlp() => Sequential(("flatten", Flatten()), ("fc1", Linear(784, 64)), ("relu", ReLU()), ("fc2", Linear(64, 10)));

    private LeakRun Run(LeakPattern p, int steps)
    {
        // One libtorch thread: on a loaded 2-core machine, OpenMP's spinning threads make a tiny model's step 50× slower.
        int threads = get_num_threads();
        set_num_threads(1);
        LeakRun run;
        try { run = LeakyTrainer.Run(p, steps, Mlp, new DoctorOptions(), batchSize: 16); }
        finally { set_num_threads(threads); }
        output.WriteLine($"{p}: leak {run.Leak?.Code} at step {run.Leak?.Step}; tensor growth {run.TensorGrowth}, native growth {run.NativeGrowth / 1024} KB; checks " +
                         string.Join(" ", run.Checks.Select(c => $"{c.Step}:{c.ProgramTensors}+{c.ProbeTensors}t/{c.PastStepGraphs}g/{c.NativeBytes / 1024}K")));
        return run;
    }

    [Fact]
    public void A_list_of_losses_is_found_within_two_30_step_epochs()
    {
        var run = Run(LeakPattern.LossList, 60);
        Assert.Equal("TD6001", run.Leak?.Code);
        Assert.InRange(run.Leak!.Step!.Value, 10, 60);
    }

    [Fact]
    public void A_running_total_of_losses_is_found_within_two_30_step_epochs_as_a_graph_leak()
    {
        var run = Run(LeakPattern.RunningTotal, 60);
        Assert.Equal("TD6002", run.Leak?.Code);
        Assert.InRange(run.Leak!.Step!.Value, 10, 60);
        Assert.Equal("1", run.Leak.Evidence["graphs kept per step"]);
        // The doctor's own nodes in the kept graphs are not counted as the program's tensors.
        Assert.True(run.Checks[^1].ProbeTensors >= run.Checks[^1].PastStepGraphs);
    }

    [Fact]
    public void A_running_total_moved_out_of_each_step_scope_is_a_graph_leak_too()
    {
        var run = Run(LeakPattern.ScopedRunningTotal, 60);
        Assert.Equal("TD6002", run.Leak?.Code);
        Assert.InRange(run.Leak!.Step!.Value, 10, 60);
    }

    [Fact]
    public void Rising_past_step_graphs_with_flat_program_tensors_is_a_graph_leak_and_bounded_graphs_are_not()
    {
        // Each check: the program's tensors flat at 50; the doctor's nodes hold one tensor per kept graph.
        var chained = Series(s => (50 + s, 62 * MB), to: 40).Select(c => c with { ProbeTensors = c.Step, PastStepGraphs = c.Step }).ToList();
        var f = LeakDetector.Detect(chained, new LeakThresholds());
        Assert.Equal("TD6002", f?.Code);
        Assert.Equal("1", f!.Evidence["graphs kept per step"]);
        // One or two graphs kept (the last loss for logging, retain_graph): bounded, no finding.
        var bounded = Series(s => (52, 62 * MB), to: 200).Select(c => c with { ProbeTensors = 2, PastStepGraphs = c.Step % 2 == 0 ? 2 : 1 }).ToList();
        Assert.Null(LeakDetector.Detect(bounded, new LeakThresholds()));
        // A list of losses keeps tensors and their graphs: the tensor rule names it.
        var list = Series(s => (50 + 2 * s, 62 * MB), to: 40).Select(c => c with { ProbeTensors = c.Step, PastStepGraphs = c.Step }).ToList();
        Assert.Equal("TD6001", LeakDetector.Detect(list, new LeakThresholds())?.Code);
        // The same when the program's count dips at one check (the doctor's weight copies at a densely sampled step), as
        // the memory-leak demo's CNN showed: 47, 54, 59, 54, 69 with 10, 15, … 30 graphs.
        long[] demo = [47, 54, 59, 54, 69];
        var noisy = Series(s => (demo[(int)(s / 5 - 2)] + s, 62 * MB), from: 10, to: 30).Select(c => c with { ProbeTensors = c.Step, PastStepGraphs = c.Step }).ToList();
        noisy.Insert(0, new MemoryCheck(5, 60, 62 * MB, 1, 5, 5));
        var tensorLeak = LeakDetector.Detect(noisy, new LeakThresholds());
        Assert.Equal("TD6001", tensorLeak?.Code);
        Assert.Equal("10", tensorLeak!.Evidence["growing since step"]);
    }

    [Fact]
    public void A_slow_leak_of_one_small_tensor_per_step_is_found_within_200_steps()
    {
        var run = Run(LeakPattern.SlowCache, 200);
        Assert.Equal("TD6001", run.Leak?.Code);
        Assert.Equal("1", run.Leak!.Evidence["tensors per step"]);
    }

    [Fact]
    public void A_clean_1000_step_run_and_an_unscoped_run_give_no_leak_finding()
    {
        Assert.Null(Run(LeakPattern.Clean, 1000).Leak);
        Assert.Null(Run(LeakPattern.Unscoped, 300).Leak);
    }
}

/// <summary>Deep mode: the heap snapshot names the field and the source line that keep the tensors.</summary>
[Collection(ProcessMemoryCollection.Name)]
public class LeakAttributionTests(ITestOutputHelper output)
{
    [Fact]
    public void Attribution_names_the_list_field_and_the_line_that_fills_it()
    {
        int threads = get_num_threads();
        set_num_threads(1);
        LeakRun run;
        try
        {
            run = LeakyTrainer.Run(LeakPattern.LossList, 40,
                () => Sequential(("flatten", Flatten()), ("fc1", Linear(784, 32)), ("relu", ReLU()), ("fc2", Linear(32, 10))),
                new DoctorOptions { LeakAttribution = true }, batchSize: 16);
        }
        finally { set_num_threads(threads); }
        var leak = run.Leak;
        Assert.NotNull(leak);
        output.WriteLine(leak!.ToString());
        foreach (var (k, v) in leak.Evidence) output.WriteLine($"{k}: {v}");
        Assert.Contains("TorchDoctor.Demos.LeakyTrainer._losses", leak.Message);
        Assert.Matches(@"MemoryLeakDemo\.cs:\d+", leak.Message);
    }
}
