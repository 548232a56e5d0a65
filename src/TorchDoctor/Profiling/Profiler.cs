using System.Diagnostics;
using TorchDoctor.Inspection;
using TorchDoctor.Probes;
using TorchDoctor.Runtime;
using TorchSharp;
using static TorchSharp.torch;
using Module = TorchSharp.torch.nn.Module;

namespace TorchDoctor.Profiling;

/// <summary>One timed span of a profiled step (microseconds from the profiler's start).</summary>
/// <param name="Name">Module path, phase or region name.</param>
/// <param name="Category"><c>forward</c>, <c>backward</c>, <c>phase</c>, <c>region</c> or <c>step</c>.</param>
/// <param name="Step">The step.</param>
/// <param name="StartMicroseconds">Start.</param>
/// <param name="DurationMicroseconds">Duration.</param>
/// <param name="ModuleType">The module's type for module spans, else null.</param>
public sealed record ProfileSpan(string Name, string Category, long Step, double StartMicroseconds, double DurationMicroseconds, string? ModuleType = null)
{
    /// <summary>End.</summary>
    public double EndMicroseconds => StartMicroseconds + DurationMicroseconds;
}

/// <summary>One module call of a profiled step.</summary>
/// <param name="Module">Path (root: empty).</param>
/// <param name="Type">Module type.</param>
/// <param name="Parent">Index of the enclosing call, or -1.</param>
/// <param name="ForwardMicroseconds">Forward time, children included.</param>
/// <param name="ForwardSelfMicroseconds">Forward time minus the children's.</param>
/// <param name="BackwardMicroseconds">Backward time at module boundaries (from the gradient reaching its output to it reaching the previous module's output), or null.</param>
/// <param name="OutputBytes">Bytes of the output tensors.</param>
/// <param name="SavedBytesEstimate">Estimate of the tensors autograd saves for backward (TorchSharp has no saved-tensor hook): inputs of layers with weights, norms and pools, outputs of activations.</param>
public sealed record ModuleCallTiming(string Module, string Type, int Parent, double ForwardMicroseconds, double ForwardSelfMicroseconds,
    double? BackwardMicroseconds, long OutputBytes, long SavedBytesEstimate);

/// <summary>Everything recorded for one profiled step.</summary>
/// <param name="Step">Step index.</param>
/// <param name="DurationMicroseconds">Wall time from <see cref="Profiler.BeginStep"/> to <see cref="Profiler.EndStep"/>.</param>
/// <param name="Calls">Module calls in forward order.</param>
/// <param name="Spans">Every span: step, phases, regions, forward and backward module spans.</param>
/// <param name="TensorsCreated">Live-tensor count change per phase (tensors created minus disposed while the phase ran).</param>
public sealed record ProfiledStep(long Step, double DurationMicroseconds, IReadOnlyList<ModuleCallTiming> Calls, IReadOnlyList<ProfileSpan> Spans,
    IReadOnlyDictionary<string, long> TensorsCreated);

/// <summary>
/// Per-module profiler for TorchSharp, which has no binding of torch.profiler. Forward time per module comes from
/// forward pre/post hooks (self = total minus children); backward time from an identity autograd node on each module
/// output whose backward notes when the gradient arrives (TorchSharp has no backward hooks); step phases and
/// user regions from <c>using</c> blocks. Only scheduled steps are recorded, and nothing is kept between steps but
/// numbers. Dispose to remove the hooks.
/// <code>
/// using var prof = Profiler.Attach(model);
/// foreach (var (x, y) in batches) {
///     prof.BeginStep();
///     Tensor loss;
///     using (prof.Phase(StepPhase.Forward)) output = model.call(x);
///     using (prof.Phase(StepPhase.Loss)) loss = functional.cross_entropy(output, y);
///     using (prof.Phase(StepPhase.Backward)) loss.backward();
///     using (prof.Phase(StepPhase.OptimizerStep)) { opt.step(); opt.zero_grad(); }
///     prof.EndStep();
/// }
/// Console.WriteLine(new ProfileTextExporter().Render(prof.Report()));   // TorchDoctor.Reporting
/// </code>
/// </summary>
public sealed class Profiler : IDisposable, IForwardObserver
{
    private readonly ProfilerOptions _options;
    private readonly ModuleTree _tree;
    private readonly ModuleHooks _hooks;
    private readonly long _origin = Stopwatch.GetTimestamp();
    private readonly Lock _gate = new();
    private readonly List<ProfiledStep> _steps = [];
    private readonly List<Call> _calls = [];
    private readonly Stack<int> _open = new();
    private readonly List<ProfileSpan> _marks = [];
    private readonly Dictionary<string, long> _created = [];
    private int _state;
    private bool _inStep;
    private double _stepStart;
    private bool _disposed;

    private sealed class Call
    {
        public required string Module;
        public required string Type;
        public int Parent;
        public double Enter, Exit, Children;
        public double? Arrival;
        public long OutputBytes, Saved;
    }

    private Profiler(Module model, ProfilerOptions options)
    {
        _options = options;
        _tree = ModuleTree.Build(model);
        _hooks = ModuleHooks.Attach(_tree.Nodes.Select(n => n.Module), this);
    }

    /// <summary>Hooks every module of <paramref name="model"/>.</summary>
    public static Profiler Attach(Module model, ProfilerOptions? options = null)
    {
        ArgumentNullException.ThrowIfNull(model);
        TorchRuntime.EnsureLoaded();
        options ??= new ProfilerOptions();
        ArgumentOutOfRangeException.ThrowIfLessThan(options.MaxSteps, 1);
        return new Profiler(model, options);
    }

    /// <summary>The model's module tree (parameters per module for the table).</summary>
    public ModuleTree Tree => _tree;
    /// <summary>The step now running (or last run); -1 before the first.</summary>
    public long Step { get; private set; } = -1;
    /// <summary>True when the current step is recorded.</summary>
    public bool IsRecording => _inStep && _state == 2;
    /// <summary>The recorded steps (the most recent <see cref="ProfilerOptions.MaxSteps"/>).</summary>
    public IReadOnlyList<ProfiledStep> Steps => _steps;

    private double Now()
    {
        _options.Synchronize?.Invoke();
        return Stopwatch.GetElapsedTime(_origin).TotalMicroseconds;
    }

    /// <summary>Starts a step (call before fetching or using its batch).</summary>
    public void BeginStep()
    {
        ObjectDisposedException.ThrowIf(_disposed, this);
        if (_inStep) EndStep();
        Step++;
        _inStep = true;
        _state = _options.Schedule.StateOf(Step);
        lock (_gate)
        {
            _calls.Clear();
            _open.Clear();
            _marks.Clear();
            _created.Clear();
        }
        _stepStart = Now();
    }

    /// <summary>Times a phase of the step: <c>using (profiler.Phase(StepPhase.Backward)) loss.backward();</c></summary>
    public IDisposable Phase(StepPhase phase) => Mark(PhaseName(phase), "phase");

    /// <summary>Times a named region, like torch.profiler's <c>record_function</c>; regions nest with modules and phases.</summary>
    public IDisposable Region(string name)
    {
        ArgumentException.ThrowIfNullOrEmpty(name);
        return Mark(name, "region");
    }

    internal static string PhaseName(StepPhase p) => p switch
    {
        StepPhase.DataWait => "data wait",
        StepPhase.Forward => "forward",
        StepPhase.Loss => "loss",
        StepPhase.Backward => "backward",
        StepPhase.OptimizerStep => "optimizer step",
        _ => "other",
    };

    private IDisposable Mark(string name, string category)
    {
        if (!IsRecording) return NoMark.Instance;
        return new MarkScope(this, name, category, Now(), Tensor.TotalCount);
    }

    private sealed class NoMark : IDisposable
    {
        public static readonly NoMark Instance = new();
        public void Dispose() { }
    }

    private sealed class MarkScope(Profiler p, string name, string category, double start, long tensors) : IDisposable
    {
        private bool _done;
        public void Dispose()
        {
            if (_done) return;
            _done = true;
            if (!p.IsRecording) return;
            double end = p.Now();
            lock (p._gate)
            {
                p._marks.Add(new ProfileSpan(name, category, p.Step, start, end - start));
                if (category == "phase") p._created[name] = p._created.GetValueOrDefault(name) + (Tensor.TotalCount - tensors);
            }
        }
    }

    /// <summary>Ends the step and, when it was recorded, builds its spans.</summary>
    public void EndStep()
    {
        ObjectDisposedException.ThrowIf(_disposed, this);
        if (!_inStep) return;
        _inStep = false;
        if (_state != 2) return;
        double end = Now();
        lock (_gate)
        {
            var step = Build(end);
            _steps.Add(step);
            if (_steps.Count > _options.MaxSteps) _steps.RemoveAt(0);
        }
    }

    private ProfiledStep Build(double end)
    {
        var spans = new List<ProfileSpan> { new("step " + Step, "step", Step, _stepStart, end - _stepStart) };
        spans.AddRange(_marks);
        var backwardPhase = _marks.LastOrDefault(m => m.Category == "phase" && m.Name == "backward");
        double backwardEnd = backwardPhase?.EndMicroseconds ?? end;
        // Backward at module boundaries: a module's backward runs from the gradient reaching its output to the
        // gradient reaching the output of the call that finished just before it started (or the end of backward).
        var bwd = new (double Start, double End)?[_calls.Count];
        for (int i = 0; i < _calls.Count; i++)
        {
            var c = _calls[i];
            if (c.Arrival is not { } a) continue;
            double stop = backwardEnd;
            double best = double.NegativeInfinity;
            foreach (var o in _calls)
                if (o.Arrival is { } oa && o.Exit <= c.Enter && o.Exit > best) { best = o.Exit; stop = oa; }
            if (stop < a) stop = a;
            bwd[i] = (a, stop);
        }
        // Keep the backward spans well nested: inside the parent's, not overlapping earlier-ending siblings.
        for (int i = 0; i < _calls.Count; i++)
        {
            if (bwd[i] is not { } b) continue;
            int p = _calls[i].Parent;
            while (p >= 0 && bwd[p] is null) p = _calls[p].Parent;
            if (p >= 0 && bwd[p] is { } pb)
                bwd[i] = (Math.Clamp(b.Start, pb.Start, pb.End), Math.Clamp(b.End, pb.Start, pb.End));
        }
        var timings = new List<ModuleCallTiming>(_calls.Count);
        var bwdChildren = new double[_calls.Count];
        for (int i = 0; i < _calls.Count; i++)
            if (bwd[i] is { } b && _calls[i].Parent >= 0) bwdChildren[_calls[i].Parent] += b.End - b.Start;
        for (int i = 0; i < _calls.Count; i++)
        {
            var c = _calls[i];
            double total = c.Exit - c.Enter;
            timings.Add(new ModuleCallTiming(c.Module, c.Type, c.Parent, total, Math.Max(0, total - c.Children),
                bwd[i] is { } b ? b.End - b.Start : null, c.OutputBytes, c.Saved));
            spans.Add(new ProfileSpan(c.Module.Length == 0 ? "(model)" : c.Module, "forward", Step, c.Enter, total, c.Type));
            if (bwd[i] is { } bb)
                spans.Add(new ProfileSpan(c.Module.Length == 0 ? "(model)" : c.Module, "backward", Step, bb.Start, bb.End - bb.Start, c.Type));
        }
        return new ProfiledStep(Step, end - _stepStart, timings, spans, new Dictionary<string, long>(_created));
    }

    /// <inheritdoc />
    void IForwardObserver.OnEnter(Module module, object?[] inputs)
    {
        if (_state == 0 || !_inStep) return;
        var node = _tree.Find(module);
        long inBytes = 0;
        foreach (var o in inputs) if (o is Tensor t && !t.IsInvalid) inBytes += t.NumberOfElements * t.ElementSize;
        lock (_gate)
        {
            _calls.Add(new Call
            {
                Module = node?.Path ?? ModuleNode.TypeNameOf(module), Type = node?.TypeName ?? ModuleNode.TypeNameOf(module),
                Parent = _open.Count > 0 ? _open.Peek() : -1, Saved = inBytes,
            });
            _open.Push(_calls.Count - 1);
        }
        _calls[^1].Enter = Now();
    }

    private static readonly HashSet<string> Activations = ["ReLU", "ReLU6", "Sigmoid", "Tanh", "GELU", "SiLU", "LeakyReLU", "ELU", "Softmax", "LogSoftmax", "Hardswish", "Mish"];
    private static readonly HashSet<string> NothingSaved = ["Flatten", "Identity", "Dropout", "Sequential", "ModuleList", "Unflatten"];

    /// <inheritdoc />
    object? IForwardObserver.OnExit(Module module, object?[] inputs, object? output)
    {
        if (_state == 0 || !_inStep) return null;
        double now = Now();
        int index;
        Call c;
        lock (_gate)
        {
            if (_open.Count == 0) return null;
            index = _open.Pop();
            c = _calls[index];
            c.Exit = now;
            if (c.Parent >= 0) _calls[c.Parent].Children += now - c.Enter;
        }
        var t = output as Tensor;
        if (t is not null && !t.IsInvalid)
        {
            c.OutputBytes = t.NumberOfElements * t.ElementSize;
            bool container = _tree.Find(module)?.Children.Count > 0;
            c.Saved = container || NothingSaved.Contains(c.Type) ? 0 : Activations.Contains(c.Type) ? c.OutputBytes : c.Saved;
        }
        if (!_options.Backward || t is null || t.IsInvalid || !t.requires_grad || !is_grad_enabled() || !t.is_floating_point()) return null;
        var target = new BackwardTimer.Target(this, Step, index);
        return ProbeNodes.Apply(() => BackwardTimer.apply(t, target), target, Step);
    }

    internal void OnGradient(long step, int index)
    {
        double now = Now();
        lock (_gate)
        {
            if (step != Step || !_inStep || index >= _calls.Count) return;
            _calls[index].Arrival ??= now;
        }
    }

    /// <summary>The aggregate over the recorded steps.</summary>
    public ProfileReport Report() => ProfileReport.From(_steps, _tree);

    /// <summary>Removes the hooks.</summary>
    public void Dispose()
    {
        if (_disposed) return;
        _disposed = true;
        _hooks.Dispose();
    }
}

/// <summary>Identity autograd node whose backward notes when the gradient reaches a module's output.</summary>
internal sealed class BackwardTimer : autograd.SingleTensorFunction<BackwardTimer>
{
    internal sealed record Target(Profiler Profiler, long Step, int Index);

    public override string Name => "TorchDoctorBackwardTimer";

    public override Tensor forward(autograd.AutogradContext ctx, params object[] vars)
    {
        ctx.save_data("target", vars[1]);
        return ((Tensor)vars[0]).detach();
    }

    public override List<Tensor> backward(autograd.AutogradContext ctx, Tensor grad_output)
    {
        if (ctx.get_data("target") is Target t) t.Profiler.OnGradient(t.Step, t.Index);
        return [grad_output.alias(), null!];
    }
}
