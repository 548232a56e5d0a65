using TorchDoctor.Findings;
using TorchDoctor.Models;
using TorchDoctor.Observations;
using TorchDoctor.Probes;
using TorchDoctor.Training;
using TorchSharp;
using static TorchSharp.torch;
using static TorchSharp.torch.nn;

namespace TorchDoctor.Demos;

/// <summary>The training-loop memory leaks the leak watch is measured against (docs/memory.md).</summary>
public enum LeakPattern
{
    /// <summary>Each step in a dispose scope, the loss summed as a float: no leak.</summary>
    Clean,
    /// <summary>No dispose scope at all, nothing kept: garbage for the collector, no leak.</summary>
    Unscoped,
    /// <summary>Every step's loss tensor added to a list (no dispose scope): one tensor and its graph's nodes per step.</summary>
    LossList,
    /// <summary><c>total = total + loss</c> (no dispose scope): a flat tensor count, a graph that grows every step.</summary>
    RunningTotal,
    /// <summary>Each step in a dispose scope, but one small tensor per step moved out of it into a history list.</summary>
    SlowCache,
    /// <summary>Each step in a dispose scope, <c>total = (total + loss).MoveToOuterDisposeScope()</c>: the graph chain outlives the scopes.</summary>
    ScopedRunningTotal,
}

/// <summary>
/// A training loop written the way the leak patterns appear in real code: the loop state lives in fields of this
/// trainer, so the leak watch's attribution can name the field and the line that fills it.
/// </summary>
public sealed class LeakyTrainer
{
    private readonly Module<Tensor, Tensor> _model;
    private readonly optim.Optimizer _optimizer;
    private readonly LeakPattern _pattern;
    private readonly List<Tensor> _losses = [];
    private readonly List<Tensor> _history = [];
    private Tensor? _total;
    private double _sum;
    private long _steps;

    /// <summary>Gradient accumulation: optimizer steps every this many batches (the loss is divided by it). Default 1.</summary>
    public int Accumulate { get; init; } = 1;

    /// <summary>Creates the trainer for <paramref name="model"/> with Adam.</summary>
    public LeakyTrainer(Module<Tensor, Tensor> model, LeakPattern pattern, double lr = 1e-3)
    {
        _model = model;
        _pattern = pattern;
        _optimizer = optim.Adam(model.parameters(), lr);
    }

    /// <summary>The optimizer (for the doctor's checks).</summary>
    public optim.Optimizer Optimizer => _optimizer;

    /// <summary>The running loss sum, as the pattern keeps it.</summary>
    public double LossSum => _total is not null ? _total.item<float>() : _sum;

    /// <summary>One training step on (x, y), with the doctor's calls when one is given.</summary>
    public void Step(Tensor x, Tensor y, Doctor? doctor)
    {
        if (_pattern is LeakPattern.Clean or LeakPattern.SlowCache or LeakPattern.ScopedRunningTotal)
        {
            using var scope = NewDisposeScope();
            var loss = Forward(x, y, doctor);
            if (_pattern == LeakPattern.ScopedRunningTotal)
                _total = (_total is null ? loss.alias() : _total + loss).MoveToOuterDisposeScope();   // the chain outlives the scope
            else
                _sum += loss.item<float>();
            if (_pattern == LeakPattern.SlowCache)
                _history.Add(loss.detach().MoveToOuterDisposeScope());       // one small tensor kept per step
            doctor?.EndStep();
            return;
        }
        var l = Forward(x, y, doctor);
        switch (_pattern)
        {
            case LeakPattern.LossList:
                _losses.Add(l);                                                 // keeps every step's loss alive
                break;
            case LeakPattern.RunningTotal:
                _total = _total is null ? l : _total + l;                       // chains every step's graph
                break;
            default:
                _sum += l.item<float>();
                break;
        }
        doctor?.EndStep();
    }

    private Tensor Forward(Tensor x, Tensor y, Doctor? doctor)
    {
        doctor?.BeginStep();
        var loss = functional.cross_entropy(_model.call(x), y);
        if (Accumulate > 1)
        {
            // The remedy's gradient accumulation: TorchDoctor's helper scales the loss and tells the doctor the carried
            // gradients are intended (no grad-not-zeroed finding).
            _accumulator ??= new GradientAccumulator(_optimizer, Accumulate, doctor);
            _accumulator.Backward(loss, x.shape[0]);
            doctor?.AfterBackward(loss);
            _accumulator.StepIfReady();
        }
        else
        {
            _optimizer.zero_grad();
            loss.backward();
            doctor?.AfterBackward(loss);
            _optimizer.step();
        }
        _steps++;
        return loss;
    }

    private GradientAccumulator? _accumulator;

    /// <summary>
    /// Trains <paramref name="steps"/> steps of a fresh model on the built-in data with a doctor at
    /// <paramref name="options"/>, and returns the doctor's findings and memory. The batches are disposed here.
    /// </summary>
    public static LeakRun Run(LeakPattern pattern, int steps, Func<Module<Tensor, Tensor>> makeModel, DoctorOptions options,
        int batchSize = 64, int accumulate = 1, long seed = 0)
    {
        ArgumentNullException.ThrowIfNull(makeModel);
        using var data = DemoData.Generated(1024, seed);
        torch.manual_seed(seed + 3);
        using var model = makeModel();
        var trainer = new LeakyTrainer(model, pattern) { Accumulate = accumulate };
        long startTensors = Tensor.TotalCount;
        ProcessMemory.TryResetPeak();
        using var doctor = Doctor.Attach(model, trainer.Optimizer, options);
        int s = 0;
        foreach (var (x, y) in data.Forever(batchSize, seed))
        {
            trainer.Step(x, y, doctor);
            x.Dispose();
            y.Dispose();
            if (++s == steps) break;
        }
        var checks = doctor.LeakWatch?.Checks.ToList() ?? [];
        var run = new LeakRun(pattern, steps, [.. doctor.Findings], checks, ProcessMemory.PeakResidentBytes(), trainer.LossSum);
        trainer.Release();
        GC.Collect();
        GC.WaitForPendingFinalizers();
        return run with { TensorsLeftAfterRun = Tensor.TotalCount - startTensors };
    }

    private void Release()
    {
        foreach (var t in _losses) t.Dispose();
        foreach (var t in _history) t.Dispose();
        _losses.Clear();
        _history.Clear();
        _total?.Dispose();
        _total = null;
    }
}

/// <summary>What one leak-pattern run produced.</summary>
/// <param name="Pattern">The pattern.</param>
/// <param name="Steps">Steps run.</param>
/// <param name="Findings">The doctor's findings.</param>
/// <param name="Checks">The leak watch's checks.</param>
/// <param name="PeakResidentBytes">Peak RSS during the run.</param>
/// <param name="LossSum">The sum of the losses (the number the loop kept).</param>
public sealed record LeakRun(LeakPattern Pattern, int Steps, IReadOnlyList<Finding> Findings, IReadOnlyList<MemoryCheck> Checks, long PeakResidentBytes, double LossSum)
{
    /// <summary>Tensors still alive after the run and a collection, beyond those alive before it.</summary>
    public long TensorsLeftAfterRun { get; init; }
    /// <summary>The leak finding, or null.</summary>
    public Finding? Leak => Findings.FirstOrDefault(f => f.Code is "TD6001" or "TD6002");
    /// <summary>Growth of the program's live tensors after collection (TorchDoctor's own nodes excluded) from the first check past warm-up to the last.</summary>
    public long TensorGrowth => Checks.Count < 2 ? 0 : Checks[^1].ProgramTensors - Checks.First(c => c.Step >= 10).ProgramTensors;
    /// <summary>Growth of native bytes after collection from the first check past warm-up to the last.</summary>
    public long NativeGrowth => Checks.Count < 2 ? 0 : Checks[^1].NativeBytes - Checks.First(c => c.Step >= 10).NativeBytes;
}

/// <summary>
/// Case study 2 of the guide (memory grows until out-of-memory) in TorchSharp terms: a trainer keeps every step's loss
/// tensor in a list. The leak watch finds it and, with attribution on, names the field and the source line; the fix
/// (a dispose scope per step, the loss summed as a float, gradient accumulation over half-size batches) runs flat.
/// </summary>
public sealed class MemoryLeakDemo : IDemoCase
{
    /// <inheritdoc />
    public string Name => "memory-leak";
    /// <inheritdoc />
    public string Description => "A trainer keeps every loss tensor in a list: the leak watch finds it and names the field and source line; the fix runs flat.";

    /// <inheritdoc />
    public DemoResult Run(DemoOptions options)
    {
        ArgumentNullException.ThrowIfNull(options);
        int steps = options.Steps ?? 120;
        options.Log?.Invoke($"Training {steps} steps with every loss kept in LeakyTrainer._losses (leak watch with attribution)…");
        var before = LeakyTrainer.Run(LeakPattern.LossList, steps, () => new SmallCnn(), new DoctorOptions { LeakAttribution = true, Sinks = Record(options, "before") }, seed: options.Seed);
        LeakRun? after = null;
        if (options.Fix)
        {
            options.Log?.Invoke("Fix: a dispose scope per step, loss.item<float>() summed, batch 32 with 2-step gradient accumulation…");
            after = LeakyTrainer.Run(LeakPattern.Clean, steps * 2, () => new SmallCnn(), new DoctorOptions { Sinks = Record(options, "after") }, batchSize: 32, accumulate: 2, seed: options.Seed);
        }
        return new DemoResult(Name, ToDemoRun("before: List<Tensor> of losses", before),
            after is null ? null : ToDemoRun("after: dispose scope + loss.item<float>()", after),
            "`using var scope = torch.NewDisposeScope()` around each step; keep `loss.item<float>()` (a float) instead of the loss tensor; " +
            "halve the batch and accumulate gradients over 2 steps to lower the peak.");
    }

    /// <summary>The run log and TensorBoard sinks of a recorded run (<see cref="DemoOptions.RunDirectory"/>), or none.</summary>
    private static IReadOnlyList<Sinks.IDoctorSink> Record(DemoOptions options, string run)
        => options.RunDirectory is null ? [] : Reporting.RunSinks.ForDirectory(Path.Combine(options.RunDirectory, run));

    private static DemoRun ToDemoRun(string label, LeakRun r)
        => new(label, new Dictionary<string, double>
        {
            ["liveTensorGrowth"] = r.TensorGrowth,
            ["nativeGrowthMB"] = Math.Round(r.NativeGrowth / 1048576.0, 2),
            ["peakRssMB"] = Math.Round(r.PeakResidentBytes / 1048576.0, 1),
            ["leakFoundAtStep"] = r.Leak?.Step ?? -1,
            ["tensorsLeftAfterRun"] = r.TensorsLeftAfterRun,
        }, r.Findings);
}
