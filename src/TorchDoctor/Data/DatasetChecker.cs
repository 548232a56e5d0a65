using TorchDoctor.Observations;
using TorchDoctor.Probes;
using System.Numerics;
using System.Runtime.InteropServices;
using System.Security.Cryptography;
using TorchDoctor.Detectors;
using TorchDoctor.Findings;
using TorchDoctor.Inspection;
using TorchSharp;
using static TorchSharp.torch;
using Module = TorchSharp.torch.nn.Module;

namespace TorchDoctor.Data;

/// <summary>How <see cref="DatasetChecker"/> reads a data set.</summary>
public sealed record DataCheckOptions
{
    /// <summary>Number of classes; overrides the model's.</summary>
    public int? Classes { get; init; }
    /// <summary>Where <see cref="Classes"/> comes from, for messages (default <c>given</c>).</summary>
    public string? ClassesSource { get; init; }
    /// <summary>A model whose last Linear gives the number of classes and whose first convolution gives the channels.</summary>
    public Module? Model { get; init; }
    /// <summary>The label field; default: the first of label, labels, target, targets, y, class with one element.</summary>
    public string? LabelField { get; init; }
    /// <summary>A field to treat as an image whatever its shape; default: guessed from shapes.</summary>
    public string? ImageField { get; init; }
    /// <summary>Check a seeded random sample of at most this many samples per split (null: every sample).</summary>
    public long? MaxSamples { get; init; }
    /// <summary>Seed of the random sample.</summary>
    public long Seed { get; init; }
    /// <summary>Progress: split name, samples done, samples to do. Called every few hundred samples and at the end.</summary>
    public Action<string, long, long>? Progress { get; init; }
    /// <summary>Thresholds of the data rules.</summary>
    public DataThresholds Thresholds { get; init; } = DataThresholds.Default;
    /// <summary>The data detectors to run. Default: <see cref="DataDetectorSet.All"/>.</summary>
    public IReadOnlyList<IDataDetector>? Detectors { get; init; }
    /// <summary>
    /// The loss the labels will meet: <c>cross-entropy</c> (class indices, the default when null), <c>bce</c> (float 0/1
    /// targets) or <c>mse</c> (float targets). It decides which label rules apply (TD3012 is cross-entropy's).
    /// </summary>
    public string? Loss { get; init; }
}

/// <summary>A named split of a data set (train, validation, test).</summary>
/// <param name="Name">The name, e.g. <c>train</c>.</param>
/// <param name="Dataset">The data set.</param>
public sealed record DataSplit(string Name, utils.data.Dataset Dataset);

/// <summary>What the check measured about one split.</summary>
public sealed record SplitReport
{
    /// <summary>The split's name.</summary>
    public required string Name { get; init; }
    /// <summary>Samples in the data set.</summary>
    public long DatasetSize { get; init; }
    /// <summary>Samples checked (all, or the random sample).</summary>
    public long Samples { get; init; }
    /// <summary>The fields, in key order.</summary>
    public required IReadOnlyList<FieldObservation> Fields { get; init; }
    /// <summary>The labels, or null when there is no label field.</summary>
    public LabelObservation? Labels { get; init; }
    /// <summary>Exact duplicates within the split.</summary>
    public required DuplicateObservation Duplicates { get; init; }
    /// <summary>Samples that could not be read.</summary>
    public required IReadOnlyList<SampleFailure> Failures { get; init; }
}

/// <summary>The result of <see cref="DatasetChecker.Check(IReadOnlyList{DataSplit}, DataCheckOptions?)"/>.</summary>
public sealed record DataCheckReport
{
    /// <summary>The splits, training split first.</summary>
    public required IReadOnlyList<SplitReport> Splits { get; init; }
    /// <summary>Samples of the later splits that also occur in the first.</summary>
    public required IReadOnlyList<LeakageObservation> Leakage { get; init; }
    /// <summary>What the model expects, when a model or class count was given.</summary>
    public required ModelExpectations Model { get; init; }
    /// <summary>All findings, most severe first.</summary>
    public required IReadOnlyList<Finding> Findings { get; init; }
    /// <summary>Wall-clock seconds the check took.</summary>
    public double Seconds { get; init; }

    /// <summary>The first (training) split.</summary>
    public SplitReport Primary => Splits[0];

    /// <summary>True when a finding of warning or error severity was made.</summary>
    public bool HasProblems => Findings.Any(f => f.Severity >= Severity.Warning);

}

/// <summary>
/// Checks TorchSharp data sets sample by sample: per-field dtype/shape consistency, NaN/Inf, value ranges and
/// per-channel statistics (with the Normalize values to use), image layout and dtype, labels (dtype, range,
/// balance), exact duplicates (SHA-256 of every byte of every non-label field) and leakage between splits. A sample
/// whose GetTensor throws is reported and the check goes on.
/// </summary>
public static class DatasetChecker
{
    /// <summary>Names taken for the label field when none is given.</summary>
    public static readonly IReadOnlyList<string> LabelNames = ["label", "labels", "target", "targets", "y", "class"];

    /// <summary>Checks one data set (named <c>train</c>).</summary>
    public static DataCheckReport Check(utils.data.Dataset dataset, DataCheckOptions? options = null)
        => Check([new DataSplit("train", dataset)], options);

    /// <summary>Checks several splits; the first is the training split that the others are compared with for leakage.</summary>
    public static DataCheckReport Check(IReadOnlyList<DataSplit> splits, DataCheckOptions? options = null)
    {
        if (splits.Count == 0) throw new ArgumentException("give at least one split", nameof(splits));
        Runtime.TorchRuntime.EnsureLoaded();
        options ??= new DataCheckOptions();
        var sw = System.Diagnostics.Stopwatch.StartNew();
        var model = Expectations(options.Model, options.Classes, options.ClassesSource);
        var scans = splits.Select(s => Scan(s, options, model)).ToList();
        var leakage = new List<LeakageObservation>();
        for (int i = 1; i < scans.Count; i++)
            leakage.Add(Leak(scans[i], scans[0]));
        bool showSplit = splits.Count > 1;
        var findings = new List<Finding>();
        var detectors = options.Detectors ?? DataDetectorSet.All;
        var observed = scans.Select(s => new DataSetObservations
        {
            Split = s.Report.Name, Primary = ReferenceEquals(s, scans[0]), ShowSplit = showSplit, Model = model, Loss = options.Loss,
            Failures = s.Report.Failures, Fields = s.Report.Fields, Labels = s.Report.Labels, Duplicates = s.Report.Duplicates,
        }).ToList();
        foreach (var data in observed) findings.AddRange(DataDetectorSet.Run(data, options.Thresholds, detectors));
        // Leakage is reported after every split's own findings, then the splits' agreement with the training split.
        foreach (var l in leakage) findings.AddRange(DataDetectorSet.Run(new DataSetObservations { Leakage = [l] }, options.Thresholds, detectors));
        for (int i = 1; i < observed.Count; i++) findings.AddRange(DataInputDetectors.SplitAgreement(observed[0], observed[i]));
        return new DataCheckReport
        {
            Splits = scans.Select(s => s.Report).ToList(),
            Leakage = leakage,
            Model = model,
            Findings = findings.OrderByDescending(f => f.Severity).ToList(),
            Seconds = sw.Elapsed.TotalSeconds,
        };
    }

    /// <summary>
    /// What <paramref name="model"/> expects: classes from its last Linear's out_features (in registration order) and
    /// channels from its first Conv2d's in_channels. <paramref name="classes"/> overrides the model's classes.
    /// </summary>
    public static ModelExpectations Expectations(Module? model, int? classes = null, string? classesSource = null)
    {
        int? k = classes;
        string? kSource = classes is null ? null : classesSource ?? "given";
        int? ch = null;
        string? chSource = null;
        if (model is not null)
        {
            var tree = ModuleTree.Build(model);
            var lastLinear = tree.Nodes.LastOrDefault(n => n.Module is TorchSharp.Modules.Linear);
            if (k is null && lastLinear is not null)
            {
                k = (int)((TorchSharp.Modules.Linear)lastLinear.Module).out_features;
                kSource = $"model: {lastLinear.DisplayPath}.out_features";
            }
            var firstConv = tree.Nodes.FirstOrDefault(n => n.Module is TorchSharp.Modules.Conv2d);
            if (firstConv is not null)
            {
                ch = (int)((TorchSharp.Modules.Conv2d)firstConv.Module).in_channels;
                chSource = $"model: {firstConv.DisplayPath}.in_channels";
            }
        }
        return new ModelExpectations(k, kSource, ch, chSource);
    }

    /// <summary>The sample indices a check reads: all, or a seeded random sample in ascending order.</summary>
    public static long[] SampleIndices(long count, long? max, long seed)
    {
        if (max is null || max >= count) { var all = new long[count]; for (long i = 0; i < count; i++) all[i] = i; return all; }
        var rng = new Random(unchecked((int)seed ^ (int)(seed >> 32)));
        var chosen = new HashSet<long>();
        // Floyd's algorithm: max distinct indices without building a permutation of count.
        for (long j = count - max.Value; j < count; j++)
        {
            long t = rng.NextInt64(j + 1);
            if (!chosen.Add(t)) chosen.Add(j);
        }
        return chosen.Order().ToArray();
    }

    private sealed class ScanResult
    {
        public required SplitReport Report { get; init; }
        public required List<(long Index, UInt128 Hash)> Hashes { get; init; }
        public required Dictionary<UInt128, long> FirstOfHash { get; init; }
    }

    private static LeakageObservation Leak(ScanResult split, ScanResult train)
    {
        long n = 0;
        var pairs = new List<(long, long)>();
        foreach (var (i, h) in split.Hashes)
            if (train.FirstOfHash.TryGetValue(h, out var j))
            {
                n++;
                if (pairs.Count < 10) pairs.Add((i, j));
            }
        return new LeakageObservation(split.Report.Name, train.Report.Name, n, pairs);
    }

    private static ScanResult Scan(DataSplit split, DataCheckOptions o, ModelExpectations model)
    {
        var ds = split.Dataset;
        long count = ds.Count;
        var indices = SampleIndices(count, o.MaxSamples, o.Seed);
        var fields = new SortedDictionary<string, FieldAccumulator>(StringComparer.Ordinal);
        var failures = new List<SampleFailure>();
        var hashes = new List<(long, UInt128)>(indices.Length);
        var firstOfHash = new Dictionary<UInt128, long>(indices.Length);
        var labelOfFirst = new Dictionary<UInt128, long?>();
        var dupPairs = new List<(long, long)>();
        long dupSamples = 0, conflicting = 0;
        var dupGroups = new HashSet<UInt128>();
        string? labelField = o.LabelField;
        bool labelDecided = o.LabelField is not null;
        var labels = new LabelAccumulator();
        using var hasher = IncrementalHash.CreateHash(HashAlgorithmName.SHA256);
        Span<byte> digest = stackalloc byte[32];
        Span<long> shapeBuf = stackalloc long[16];
        long done = 0, read = 0;
        var keys = new List<string>();
        foreach (var index in indices)
        {
            if (o.Progress is not null && done % 512 == 0) o.Progress(split.Name, done, indices.Length);
            done++;
            using var scope = NewDisposeScope();
            Dictionary<string, Tensor> sample;
            try
            {
                sample = ds.GetTensor(index);
                if (sample is null) throw new InvalidOperationException("GetTensor returned null");
            }
            catch (Exception e)
            {
                failures.Add(new SampleFailure(split.Name, index, e.GetType().Name, FirstLine(e.Message)));
                continue;
            }
            read++;
            if (!labelDecided)
            {
                labelField = LabelNames.Select(n => sample.Keys.FirstOrDefault(k => k.Equals(n, StringComparison.OrdinalIgnoreCase)))
                    .FirstOrDefault(k => k is not null && sample[k].NumberOfElements == 1);
                labelDecided = true;
            }
            keys.Clear();
            keys.AddRange(sample.Keys);
            keys.Sort(StringComparer.Ordinal);
            long? label = null;
            try
            {
                foreach (var key in keys)
                {
                    if (!fields.TryGetValue(key, out var acc))
                    {
                        acc = new FieldAccumulator(key, key == labelField ? FieldRole.Label : key == o.ImageField ? FieldRole.Image : FieldRole.Other, read - 1);
                        fields[key] = acc;
                    }
                    var t = sample[key];
                    if (t is null) throw new InvalidOperationException($"field '{key}' is null");
                    var c = t.device_type == DeviceType.CPU ? t : t.cpu();
                    if (!c.is_contiguous()) c = c.contiguous();
                    var dtype = c.dtype;
                    if (dtype is ScalarType.Float16 or ScalarType.BFloat16) c = c.to_type(ScalarType.Float32);
                    acc.Add(index, dtype, c);
                    if (key == labelField)
                    {
                        var v = acc.LastScalar;
                        if (v is { } x && double.IsFinite(x) && x == Math.Floor(x) && Math.Abs(x) <= 9007199254740992.0) label = (long)x;
                        labels.Add(index, v, dtype);
                        continue;
                    }
                    hasher.AppendData(System.Text.Encoding.UTF8.GetBytes(key));
                    int rank = (int)Math.Min(c.Dimensions, 16);
                    for (int d = 0; d < rank; d++) shapeBuf[d] = c.shape[d];
                    hasher.AppendData(MemoryMarshal.AsBytes(shapeBuf[..rank]));
                    hasher.AppendData([(byte)dtype]);
                    hasher.AppendData(c.bytes);
                }
            }
            catch (Exception e)
            {
                hasher.GetHashAndReset(digest);
                failures.Add(new SampleFailure(split.Name, index, e.GetType().Name, FirstLine(e.Message)));
                continue;
            }
            foreach (var (k, acc) in fields) if (!sample.ContainsKey(k)) acc.AddMissing(index);
            hasher.GetHashAndReset(digest);
            var h = MemoryMarshal.Read<UInt128>(digest);
            hashes.Add((index, h));
            if (firstOfHash.TryGetValue(h, out var first))
            {
                dupSamples++;
                dupGroups.Add(h);
                if (dupPairs.Count < 10) dupPairs.Add((index, first));
                if (labelOfFirst[h] != label) conflicting++;
            }
            else
            {
                firstOfHash[h] = index;
                labelOfFirst[h] = label;
            }
        }
        o.Progress?.Invoke(split.Name, indices.Length, indices.Length);
        var fieldObs = fields.Values.Select(a => a.ToObservation(split.Name)).ToList();
        LabelObservation? labelObs = null;
        if (labelField is not null && fields.TryGetValue(labelField, out var la))
            labelObs = labels.ToObservation(split.Name, labelField, la.MajorityDType, model);
        return new ScanResult
        {
            Report = new SplitReport
            {
                Name = split.Name, DatasetSize = count, Samples = indices.Length, Fields = fieldObs, Labels = labelObs,
                Duplicates = new DuplicateObservation(split.Name, dupSamples, dupGroups.Count, dupPairs, conflicting),
                Failures = failures,
            },
            Hashes = hashes,
            FirstOfHash = firstOfHash,
        };
    }

    private static string FirstLine(string message)
    {
        var line = message.Split('\n', 2)[0].Trim();
        return line.Length > 300 ? line[..300] + "…" : line;
    }

    private sealed class LabelAccumulator
    {
        private readonly Dictionary<long, long> _hist = [];
        private readonly Dictionary<long, List<long>> _first = [];
        private bool _integer = true;
        private long _samples, _runs;
        private long? _prev;

        private long _huge;
        private readonly List<(long, double)> _hugeExamples = [];

        public void Add(long index, double? value, ScalarType dtype)
        {
            if (value is not { } v || !double.IsFinite(v) || v != Math.Floor(v)) { _integer = false; return; }
            if (Math.Abs(v) > 9007199254740992.0)
            {
                // 1e30 or 2^62 as a float: a cast to long would saturate or lose digits; keep it out of the histogram.
                _huge++;
                if (_hugeExamples.Count < 10) _hugeExamples.Add((index, v));
                return;
            }
            long k = (long)v;
            _samples++;
            _hist[k] = _hist.GetValueOrDefault(k) + 1;
            if (!_first.TryGetValue(k, out var l)) _first[k] = l = [];
            if (l.Count < 10) l.Add(index);
            if (_prev != k) _runs++;
            _prev = k;
        }

        public LabelObservation ToObservation(string split, string field, string dtype, ModelExpectations model) => new()
        {
            Split = split, Field = field, DType = dtype, IntegerValued = _integer && _samples > 0, Samples = _samples,
            Histogram = _hist.OrderBy(kv => kv.Key).ToDictionary(),
            FirstIndices = _first.ToDictionary(kv => kv.Key, kv => (IReadOnlyList<long>)kv.Value),
            Classes = model.Classes, ClassesSource = model.ClassesSource,
            MeanRunLength = _runs == 0 ? 0 : (double)_samples / _runs,
            HugeLabels = _huge,
            HugeExamples = _hugeExamples,
        };
    }

    /// <summary>Running statistics of one field: dtypes, shapes, values (Chan's parallel merge of per-block mean and M2).</summary>
    private sealed class FieldAccumulator(string name, FieldRole role, long missingBefore)
    {
        private const int MaxIdx = 10;
        private readonly Dictionary<ScalarType, (long Count, List<long> Idx)> _dtypes = [];
        private readonly Dictionary<string, (long[] Shape, long Count, List<long> Idx)> _shapes = [];
        private long _present, _missing = missingBefore;
        private readonly List<long> _missingIdx = [];
        private Stats _all;
        private Stats[]? _channels;
        private long[]? _channelShape;
        private string? _layout;
        private bool _layoutDecided;
        private long _nan, _inf, _nonFiniteSamples;
        private readonly List<long> _nonFiniteIdx = [];
        private bool _allIntegers = true;

        public double? LastScalar { get; private set; }
        public string MajorityDType => _dtypes.MaxBy(kv => kv.Value.Count).Key.ToString();

        public void AddMissing(long index)
        {
            _missing++;
            if (_missingIdx.Count < MaxIdx) _missingIdx.Add(index);
        }

        public void Add(long index, ScalarType originalDType, Tensor t)
        {
            _present++;
            var d = _dtypes.TryGetValue(originalDType, out var dv) ? dv : (0, new List<long>());
            if (d.Idx.Count < MaxIdx) d.Idx.Add(index);
            _dtypes[originalDType] = (d.Count + 1, d.Idx);
            var shape = t.shape;
            var key = DataDetectors.ShapeText(shape);
            var s = _shapes.TryGetValue(key, out var sv) ? sv : (shape, 0, new List<long>());
            if (s.Item3.Count < MaxIdx) s.Item3.Add(index);
            _shapes[key] = (s.Item1, s.Item2 + 1, s.Item3);
            if (!_layoutDecided)
            {
                _layoutDecided = true;
                _layout = GuessLayout(shape, role == FieldRole.Image);
                if (_layout is not null && role != FieldRole.Label)
                {
                    _channelShape = shape;
                    long ch = _layout == "CHW" ? shape[^3] : _layout == "HWC" ? shape[^1] : 1;
                    _channels = new Stats[ch];
                }
            }
            var bytes = t.bytes;
            LastScalar = null;
            var before = (_nan, _inf);
            switch (t.dtype)
            {
                case ScalarType.Float32: Process<float>(MemoryMarshal.Cast<byte, float>(bytes), shape); break;
                case ScalarType.Float64: Process<double>(MemoryMarshal.Cast<byte, double>(bytes), shape); break;
                case ScalarType.Byte: case ScalarType.Bool: Process<byte>(bytes, shape); break;
                case ScalarType.Int8: Process<sbyte>(MemoryMarshal.Cast<byte, sbyte>(bytes), shape); break;
                case ScalarType.Int16: Process<short>(MemoryMarshal.Cast<byte, short>(bytes), shape); break;
                case ScalarType.Int32: Process<int>(MemoryMarshal.Cast<byte, int>(bytes), shape); break;
                case ScalarType.Int64: Process<long>(MemoryMarshal.Cast<byte, long>(bytes), shape); break;
                default: break; // complex: dtype and shape only
            }
            if ((_nan, _inf) != before)
            {
                _nonFiniteSamples++;
                if (_nonFiniteIdx.Count < MaxIdx) _nonFiniteIdx.Add(index);
            }
        }

        private void Process<T>(ReadOnlySpan<T> v, long[] shape) where T : unmanaged, INumberBase<T>
        {
            if (v.Length == 1) LastScalar = double.CreateTruncating(v[0]);
            bool channels = _channels is not null && shape.AsSpan().SequenceEqual(_channelShape);
            if (channels && _layout == "HWC")
            {
                int c = _channels!.Length;
                for (int k = 0; k < c; k++) Merge(ref _channels[k], Block(v, k, c));
            }
            else if (channels && _layout == "CHW")
            {
                int c = _channels!.Length, hw = v.Length / c;
                for (int k = 0; k < c; k++) Merge(ref _channels[k], Block(v.Slice(k * hw, hw), 0, 1));
            }
            else if (channels)
                Merge(ref _channels![0], Block(v, 0, 1));
            else
                Merge(ref _all, Block(v, 0, 1));
        }

        private struct Stats
        {
            public long N;
            public double Mean, M2, Min, Max;
        }

        private static void Merge(ref Stats a, Stats b)
        {
            if (b.N == 0) return;
            if (a.N == 0) { a = b; return; }
            long n = a.N + b.N;
            double delta = b.Mean - a.Mean;
            a.Mean += delta * b.N / n;
            a.M2 += b.M2 + delta * delta * ((double)a.N * b.N / n);
            a.Min = Math.Min(a.Min, b.Min);
            a.Max = Math.Max(a.Max, b.Max);
            a.N = n;
        }

        private Stats Block<T>(ReadOnlySpan<T> v, int start, int stride) where T : unmanaged, INumberBase<T>
        {
            long n = 0;
            double sum = 0, min = double.PositiveInfinity, max = double.NegativeInfinity;
            bool floating = typeof(T) == typeof(float) || typeof(T) == typeof(double);
            bool ints = true;
            for (int i = start; i < v.Length; i += stride)
            {
                double x = double.CreateTruncating(v[i]);
                if (floating)
                {
                    if (double.IsNaN(x)) { _nan++; continue; }
                    if (double.IsInfinity(x)) { _inf++; continue; }
                    if (ints && x != Math.Floor(x)) ints = false;
                }
                n++;
                sum += x;
                if (x < min) min = x;
                if (x > max) max = x;
            }
            if (!ints) _allIntegers = false;
            if (n == 0) return default;
            double mean = sum / n, m2 = 0;
            for (int i = start; i < v.Length; i += stride)
            {
                double x = double.CreateTruncating(v[i]);
                if (floating && !double.IsFinite(x)) continue;
                double d = x - mean;
                m2 += d * d;
            }
            return new Stats { N = n, Mean = mean, M2 = m2, Min = min, Max = max };
        }

        private static string? GuessLayout(long[] shape, bool forced)
        {
            static bool Ch(long c) => c is 1 or 3 or 4;
            if (shape.Length == 3)
            {
                bool first = Ch(shape[0]) && shape[1] >= 8 && shape[2] >= 8;
                bool last = Ch(shape[2]) && shape[0] >= 8 && shape[1] >= 8;
                if (first) return "CHW";
                if (last) return "HWC";
                return forced ? "CHW" : null;
            }
            if (shape.Length == 2 && (forced || (shape[0] >= 8 && shape[1] >= 8))) return "HW";
            return null;
        }

        public FieldObservation ToObservation(string split)
        {
            var all = _all;
            var ch = _channels ?? [];
            foreach (var c in ch) Merge(ref all, c);
            var dt = _dtypes.OrderByDescending(kv => kv.Value.Count).ToList();
            var sh = _shapes.OrderByDescending(kv => kv.Value.Count).ToList();
            var majorityShape = sh.Count > 0 ? sh[0].Value.Shape : [];
            bool image = role == FieldRole.Image || (role == FieldRole.Other && _layout is not null && _channelShape is not null);
            string? layout = image ? _layout : null;
            bool channelStats = image && _channelShape is not null && majorityShape.AsSpan().SequenceEqual(_channelShape);
            var majorityDType = dt.Count > 0 ? dt[0].Key : ScalarType.Float32;
            return new FieldObservation
            {
                Split = split, Name = name, Role = image ? FieldRole.Image : role,
                Present = _present, Missing = _missing, MissingIndices = _missingIdx,
                DType = majorityDType.ToString(),
                OtherDTypes = dt.Skip(1).Select(kv => new ValueGroup(kv.Key.ToString(), kv.Value.Count, kv.Value.Idx)).ToList(),
                Shape = majorityShape,
                OtherShapes = sh.Skip(1).Select(kv => new ValueGroup(kv.Key, kv.Value.Count, kv.Value.Idx)).ToList(),
                Elements = all.N,
                Mean = all.N > 0 ? all.Mean : double.NaN,
                Std = all.N > 0 ? Math.Sqrt(all.M2 / all.N) : double.NaN,
                Min = all.N > 0 ? all.Min : double.NaN,
                Max = all.N > 0 ? all.Max : double.NaN,
                NaN = _nan, Inf = _inf, NonFiniteSamples = _nonFiniteSamples, NonFiniteIndices = _nonFiniteIdx,
                AllIntegers = _allIntegers && all.N > 0,
                IntegerDType = majorityDType is ScalarType.Byte or ScalarType.Int8 or ScalarType.Int16 or ScalarType.Int32 or ScalarType.Int64 or ScalarType.Bool,
                Layout = layout,
                ChannelMean = channelStats ? ch.Select(c => c.N > 0 ? c.Mean : double.NaN).ToList() : [],
                ChannelStd = channelStats ? ch.Select(c => c.N > 0 ? Math.Sqrt(c.M2 / c.N) : double.NaN).ToList() : [],
            };
        }
    }
}
