using TorchDoctor.Findings;
using TorchDoctor.Observations;
using TorchDoctor.Probes;
using static TorchSharp.torch;
using Module = TorchSharp.torch.nn.Module;

namespace TorchDoctor.Training;

/// <summary>Options of the run recording (<see cref="DoctorOptions.Sinks"/>).</summary>
public sealed record RunRecorderOptions
{
    /// <summary>Write histograms of weights and gradients at sampled steps. Default true.</summary>
    public bool Histograms { get; init; } = true;
    /// <summary>Values copied out per tensor for a histogram (evenly strided). Default 2048.</summary>
    public int HistogramSample { get; init; } = 2048;
    /// <summary>Run name written in the header; default: the model type and the start time.</summary>
    public string? Name { get; init; }
}

/// <summary>
/// Feeds a doctor's steps and findings to its sinks (<see cref="DoctorOptions.Sinks"/>). Made by the doctor; at sampled
/// steps it adds the learning rate, process memory and bounded value samples for histograms.
/// </summary>
internal sealed class RunRecorder : IDisposable
{
    private readonly Doctor _doctor;
    private readonly Module _model;
    private readonly optim.Optimizer? _optimizer;
    private readonly IReadOnlyList<IRunSink> _sinks;
    private readonly RunRecorderOptions _options;
    private bool _disposed;

    public RunRecorder(Doctor doctor, Module model, optim.Optimizer? optimizer, IReadOnlyList<IRunSink> sinks, RunRecorderOptions options, int sampleInterval)
    {
        _doctor = doctor;
        _model = model;
        _optimizer = optimizer;
        _sinks = sinks;
        _options = options;
        var start = new RunStart(options.Name ?? model.GetType().Name, model.GetType().Name, sampleInterval, DateTimeOffset.UtcNow);
        foreach (var s in _sinks) s.OnStart(start);
        foreach (var f in doctor.Findings) OnFinding(f);
        OnPhase("train", 0);
    }

    public void OnFinding(Finding f)
    {
        foreach (var s in _sinks) s.OnFinding(f);
    }

    public void OnPhase(string name, long step)
    {
        foreach (var s in _sinks) s.OnPhase(name, step);
    }

    public void OnScalar(string tag, long step, double value)
    {
        foreach (var s in _sinks) s.OnScalar(tag, step, value);
    }

    public void OnStep(StepObservations obs)
    {
        double? lr = null;
        long? memory = null;
        IReadOnlyList<HistogramSample> hist = [];
        if (_optimizer is not null)
        {
            try { lr = _optimizer.ParamGroups.FirstOrDefault()?.LearningRate; }
            catch (NotImplementedException) { }   // optimizers without param-group options
        }
        if (obs.Sampled)
        {
            memory = ProcessMemory.ResidentBytes();
            if (_options.Histograms) hist = Samples();
        }
        var record = new StepSample(obs, lr, memory, hist);
        foreach (var s in _sinks) s.OnStep(record);
    }

    private List<HistogramSample> Samples()
    {
        var list = new List<HistogramSample>();
        using var scope = NewDisposeScope();
        using var _ = no_grad();
        foreach (var (name, p) in _model.named_parameters())
        {
            list.Add(new HistogramSample("weights", name, Sample(p)));
            var g = p.grad;
            if (g is not null && !g.IsInvalid) list.Add(new HistogramSample("grads", name, Sample(g)));
        }
        return list;
    }

    private float[] Sample(Tensor t)
    {
        var flat = t.detach().reshape(-1);
        long n = flat.shape[0];
        if (n == 0) return [];
        long stride = Math.Max(1, (n + _options.HistogramSample - 1) / _options.HistogramSample);
        var s = stride == 1 ? flat : flat.slice(0, 0, n, stride);
        return s.to(ScalarType.Float32).cpu().data<float>().ToArray();
    }

    public void Dispose()
    {
        if (_disposed) return;
        _disposed = true;
        OnPhase("end", Math.Max(0, _doctor.Step));
        foreach (var s in _sinks) s.Dispose();
    }
}
