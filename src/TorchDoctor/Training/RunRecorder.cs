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
    private readonly Action<IObservation> _emit;
    private readonly RunRecorderOptions _options;
    private bool _disposed;

    /// <summary>Emits the run's start; the doctor's static-check findings follow as finding events, then <see cref="Started"/>.</summary>
    public RunRecorder(Doctor doctor, Module model, optim.Optimizer? optimizer, Action<IObservation> emit, RunRecorderOptions options, int sampleInterval)
    {
        _doctor = doctor;
        _model = model;
        _optimizer = optimizer;
        _emit = emit;
        _options = options;
        _emit(new RunStart(options.Name ?? model.GetType().Name, model.GetType().Name, sampleInterval, DateTimeOffset.UtcNow));
    }

    /// <summary>The doctor attached: training begins.</summary>
    public void Started() => OnPhase("train", 0);

    public void OnPhase(string name, long step) => _emit(new PhaseObservation(name, step));

    public void OnScalar(string tag, long step, double value) => _emit(new ScalarObservation(tag, step, value));

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
        _emit(new StepSample(obs, lr, memory, hist));
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
        OnPhase("end", Math.Max(0, _doctor.Step));   // the doctor disposes the sinks after this
    }
}
