namespace TorchDoctor.Observations;

/// <summary>A bounded window: keeps the last <see cref="Capacity"/> items, oldest first. Memory never grows with steps.</summary>
public sealed class Window<T>
{
    private readonly T[] _items;
    private int _start;

    /// <summary>Creates a window holding at most <paramref name="capacity"/> items.</summary>
    public Window(int capacity)
    {
        ArgumentOutOfRangeException.ThrowIfLessThan(capacity, 1);
        _items = new T[capacity];
    }

    /// <summary>Maximum number of items kept.</summary>
    public int Capacity => _items.Length;
    /// <summary>Items currently kept.</summary>
    public int Count { get; private set; }

    /// <summary>Adds an item, dropping the oldest when full.</summary>
    public void Add(T item)
    {
        if (Count < _items.Length) _items[(_start + Count++) % _items.Length] = item;
        else { _items[_start] = item; _start = (_start + 1) % _items.Length; }
    }

    /// <summary>Item <paramref name="i"/>, 0 = oldest.</summary>
    public T this[int i] => i < 0 || i >= Count ? throw new ArgumentOutOfRangeException(nameof(i)) : _items[(_start + i) % _items.Length];

    /// <summary>The newest item.</summary>
    public T Last => this[Count - 1];

    /// <summary>Items oldest first.</summary>
    public IEnumerable<T> Items()
    {
        for (int i = 0; i < Count; i++) yield return this[i];
    }

    /// <summary>The newest <paramref name="n"/> items, oldest first.</summary>
    public IEnumerable<T> Latest(int n) => Items().Skip(Math.Max(0, Count - n));
}

/// <summary>Bounded per-key histories of sampled observations: what the detectors look back on.</summary>
public sealed class TrainingHistory
{
    private readonly int _capacity;
    private readonly Dictionary<string, Window<ActivationObservation>> _activations = new();
    private readonly Dictionary<string, Window<ParameterObservation>> _parameters = new();
    private readonly Dictionary<string, Window<UpdateObservation>> _updates = new();

    /// <summary>Creates histories of <paramref name="capacity"/> sampled steps each.</summary>
    public TrainingHistory(int capacity = 20)
    {
        _capacity = capacity;
        Losses = new Window<(long, double)>(Math.Max(capacity * 10, 100));
        GlobalGradNorms = new Window<(long, double)>(capacity);
        GradientProfiles = new Window<IReadOnlyList<ParameterObservation>>(capacity);
    }

    /// <summary>Window length in sampled steps.</summary>
    public int Capacity => _capacity;
    /// <summary>Recent losses (every step).</summary>
    public Window<(long Step, double Loss)> Losses { get; }
    /// <summary>Recent global gradient norms (sampled steps).</summary>
    public Window<(long Step, double Norm)> GlobalGradNorms { get; }
    /// <summary>Recent per-step parameter observations (sampled steps), for layer-to-layer gradient comparisons.</summary>
    public Window<IReadOnlyList<ParameterObservation>> GradientProfiles { get; }

    /// <summary>Activation history of a module.</summary>
    public Window<ActivationObservation>? Activations(string module) => _activations.GetValueOrDefault(module);
    /// <summary>Gradient history of a parameter.</summary>
    public Window<ParameterObservation>? Parameter(string name) => _parameters.GetValueOrDefault(name);
    /// <summary>Update history of a parameter.</summary>
    public Window<UpdateObservation>? Updates(string name) => _updates.GetValueOrDefault(name);
    /// <summary>Modules with activation history.</summary>
    public IEnumerable<string> ActivationModules => _activations.Keys;
    /// <summary>Parameters with update history.</summary>
    public IEnumerable<string> UpdatedParameters => _updates.Keys;
    /// <summary>Parameters with gradient history.</summary>
    public IEnumerable<string> ParameterNames => _parameters.Keys;

    /// <summary>Mean of the first (up to 10) finite losses of the run, or null before the first; fixed once 10 were seen.</summary>
    public double? InitialLoss => _initialCount == 0 ? null : _initialSum / _initialCount;
    private bool _anyUpdate;
    private double _initialSum;
    private int _initialCount;

    /// <summary>Adds one step's observations.</summary>
    public void Add(StepObservations s)
    {
        if (s.Loss is { } l)
        {
            Losses.Add((s.Step, l));
            if (_initialCount < 10 && double.IsFinite(l)) { _initialSum += l; _initialCount++; }
        }
        if (!s.Sampled) return;
        foreach (var a in s.Activations.Where(a => !a.FinitenessOnly))
            Get(_activations, a.Module).Add(a);
        foreach (var p in s.Parameters) Get(_parameters, p.Name).Add(p);
        // A sampled step at which no parameter changed although some changed before is a step without optimizer.step():
        // a micro-batch of gradient accumulation (manual or GradientAccumulator). Its zero updates say nothing about
        // frozen parameters or update ratios, so they stay out of the update history. (A run whose parameters never change,
        // lr 0 everywhere, keeps them: that is the frozen-parameter finding.)
        bool skippedStep = s.Updates.Count > 0 && s.Updates.All(u => u.UpdateNorm == 0) && _anyUpdate;
        if (s.Updates.Any(u => u.UpdateNorm > 0)) _anyUpdate = true;
        if (!skippedStep)
            foreach (var u in s.Updates) Get(_updates, u.Name).Add(u);
        if (s.Parameters.Count > 0) GradientProfiles.Add(s.Parameters);
        if (s.GlobalGradNorm is { } g) GlobalGradNorms.Add((s.Step, g));
    }

    private Window<T> Get<T>(Dictionary<string, Window<T>> d, string key)
    {
        if (!d.TryGetValue(key, out var w)) d[key] = w = new Window<T>(_capacity);
        return w;
    }
}
