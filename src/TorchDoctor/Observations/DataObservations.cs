namespace TorchDoctor.Observations;

/// <summary>What a field is used for, as guessed from its name and shape (or as told).</summary>
public enum FieldRole
{
    /// <summary>Anything else (features, masks, tokens).</summary>
    Other,
    /// <summary>An image: rank 3 with a small channel dimension first or last, or rank 2 of at least 8×8.</summary>
    Image,
    /// <summary>Class labels (targets).</summary>
    Label,
}

/// <summary>A group of samples sharing one value of a property (a dtype, a shape), with the first indices.</summary>
/// <param name="Value">The dtype or shape, as text.</param>
/// <param name="Count">Number of samples.</param>
/// <param name="Indices">The first sample indices (at most a few).</param>
public sealed record ValueGroup(string Value, long Count, IReadOnlyList<long> Indices);

/// <summary>Everything measured about one field of one split (an observation: plain numbers, no tensors).</summary>
public sealed record FieldObservation
{
    /// <summary>The split (e.g. <c>train</c>).</summary>
    public required string Split { get; init; }
    /// <summary>The dictionary key.</summary>
    public required string Name { get; init; }
    /// <summary>What the field is used for.</summary>
    public FieldRole Role { get; init; }
    /// <summary>Samples that have the field.</summary>
    public long Present { get; init; }
    /// <summary>Samples read successfully that lack the field.</summary>
    public long Missing { get; init; }
    /// <summary>The first samples that lack it.</summary>
    public IReadOnlyList<long> MissingIndices { get; init; } = [];
    /// <summary>The most common dtype (TorchSharp name, e.g. <c>Float32</c>).</summary>
    public required string DType { get; init; }
    /// <summary>Other dtypes seen, with counts and first indices.</summary>
    public IReadOnlyList<ValueGroup> OtherDTypes { get; init; } = [];
    /// <summary>The most common shape.</summary>
    public required long[] Shape { get; init; }
    /// <summary>Other shapes seen, with counts and first indices.</summary>
    public IReadOnlyList<ValueGroup> OtherShapes { get; init; } = [];
    /// <summary>Finite elements the statistics cover.</summary>
    public long Elements { get; init; }
    /// <summary>Mean of the finite elements (NaN when there are none).</summary>
    public double Mean { get; init; } = double.NaN;
    /// <summary>Population standard deviation of the finite elements.</summary>
    public double Std { get; init; } = double.NaN;
    /// <summary>Smallest finite element.</summary>
    public double Min { get; init; } = double.NaN;
    /// <summary>Largest finite element.</summary>
    public double Max { get; init; } = double.NaN;
    /// <summary>NaN elements.</summary>
    public long NaN { get; init; }
    /// <summary>Infinite elements.</summary>
    public long Inf { get; init; }
    /// <summary>Samples with at least one NaN or infinite element.</summary>
    public long NonFiniteSamples { get; init; }
    /// <summary>The first such samples.</summary>
    public IReadOnlyList<long> NonFiniteIndices { get; init; } = [];
    /// <summary>Every finite element is a whole number.</summary>
    public bool AllIntegers { get; init; }
    /// <summary>Whether the dtype is an integer (or bool) type.</summary>
    public bool IntegerDType { get; init; }
    /// <summary>For images: <c>CHW</c>, <c>HWC</c> or <c>HW</c> (one channel, none stored); null otherwise.</summary>
    public string? Layout { get; init; }
    /// <summary>For images: per-channel mean of the finite elements (samples of the majority shape).</summary>
    public IReadOnlyList<double> ChannelMean { get; init; } = [];
    /// <summary>For images: per-channel population standard deviation.</summary>
    public IReadOnlyList<double> ChannelStd { get; init; } = [];

    /// <summary>Number of image channels (from <see cref="Layout"/> and <see cref="Shape"/>), or null.</summary>
    public long? Channels => Layout switch { "CHW" => Shape[^3], "HWC" => Shape[^1], "HW" => 1, _ => null };

    /// <summary>NaN plus infinite elements.</summary>
    public long NonFinite => NaN + Inf;
}

/// <summary>The labels of one split: dtype, value histogram and where each value first occurs.</summary>
public sealed record LabelObservation
{
    /// <summary>The split.</summary>
    public required string Split { get; init; }
    /// <summary>The label field's name.</summary>
    public required string Field { get; init; }
    /// <summary>The labels' dtype.</summary>
    public required string DType { get; init; }
    /// <summary>Every label is a whole number (class indices, whatever the dtype).</summary>
    public bool IntegerValued { get; init; }
    /// <summary>Labels counted (samples with a single-element, finite, whole-number label).</summary>
    public long Samples { get; init; }
    /// <summary>Count per label value.</summary>
    public required IReadOnlyDictionary<long, long> Histogram { get; init; }
    /// <summary>The first sample indices of each label value.</summary>
    public required IReadOnlyDictionary<long, IReadOnlyList<long>> FirstIndices { get; init; }
    /// <summary>The number of classes the model expects, or null when unknown.</summary>
    public int? Classes { get; init; }
    /// <summary>Where <see cref="Classes"/> came from (e.g. <c>--classes</c>, <c>model: fc.out_features</c>).</summary>
    public string? ClassesSource { get; init; }
    /// <summary>Mean length of runs of equal labels in index order (1 for alternating; large for sorted data).</summary>
    public double MeanRunLength { get; init; }
    /// <summary>Whole-number labels beyond 2^53 in magnitude (not representable as class indices); not in <see cref="Histogram"/>.</summary>
    public long HugeLabels { get; init; }
    /// <summary>The first such labels: (sample index, value).</summary>
    public IReadOnlyList<(long Index, double Value)> HugeExamples { get; init; } = [];
}

/// <summary>Exact duplicate samples (same bytes in every non-label field) within one split.</summary>
/// <param name="Split">The split.</param>
/// <param name="DuplicateSamples">Samples that repeat an earlier one.</param>
/// <param name="Groups">Distinct contents that occur more than once.</param>
/// <param name="Pairs">The first (index, index of its first copy) pairs.</param>
/// <param name="ConflictingLabels">Duplicates whose label differs from their first copy's.</param>
public sealed record DuplicateObservation(string Split, long DuplicateSamples, long Groups, IReadOnlyList<(long Index, long FirstIndex)> Pairs, long ConflictingLabels);

/// <summary>Samples of one split whose content also occurs in another.</summary>
/// <param name="Split">The split checked (e.g. <c>test</c>).</param>
/// <param name="Against">The split it is compared with (the training split).</param>
/// <param name="Samples">Samples of <paramref name="Split"/> found in <paramref name="Against"/>.</param>
/// <param name="Pairs">The first (index in <paramref name="Split"/>, index in <paramref name="Against"/>) pairs.</param>
public sealed record LeakageObservation(string Split, string Against, long Samples, IReadOnlyList<(long Index, long OtherIndex)> Pairs);

/// <summary>A sample that could not be read.</summary>
/// <param name="Split">The split.</param>
/// <param name="Index">The sample index.</param>
/// <param name="Exception">The exception type.</param>
/// <param name="Message">Its message (first line).</param>
public sealed record SampleFailure(string Split, long Index, string Exception, string Message);

/// <summary>What the model expects of the data, when known.</summary>
/// <param name="Classes">Number of classes (the last Linear's out_features), or null.</param>
/// <param name="ClassesSource">Where it came from.</param>
/// <param name="Channels">Input channels (the first Conv2d's in_channels), or null.</param>
/// <param name="ChannelsSource">Where it came from.</param>
public sealed record ModelExpectations(int? Classes = null, string? ClassesSource = null, int? Channels = null, string? ChannelsSource = null);

/// <summary>A loader's configuration and what one pass over (the start of) it showed.</summary>
public sealed record LoaderObservation
{
    /// <summary>Samples in the data set.</summary>
    public long Samples { get; init; }
    /// <summary>The loader's batch size.</summary>
    public int BatchSize { get; init; }
    /// <summary>Whether the loader drops the last incomplete batch.</summary>
    public bool DropLast { get; init; }
    /// <summary>Whether the sampler's order is shuffled (false when it yields 0, 1, 2, …), null if unknown.</summary>
    public bool? Shuffled { get; init; }
    /// <summary>Whether the loader feeds training (unshuffled order matters only there).</summary>
    public bool Training { get; init; } = true;
    /// <summary>Batches per epoch.</summary>
    public long Batches { get; init; }
    /// <summary>Samples in the last batch (0 when it is dropped or there is none).</summary>
    public long LastBatchSize { get; init; }
    /// <summary>Batches actually read.</summary>
    public int BatchesRead { get; init; }
    /// <summary>Per field, the distinct batch shapes seen (after the batch dimension) with first batch indices.</summary>
    public IReadOnlyDictionary<string, IReadOnlyList<ValueGroup>> BatchShapes { get; init; } = new Dictionary<string, IReadOnlyList<ValueGroup>>();
    /// <summary>A batch that could not be built: its index and the message.</summary>
    public (long Batch, string Message)? BatchFailure { get; init; }
    /// <summary>The label field read from batches, or null.</summary>
    public string? LabelField { get; init; }
    /// <summary>Labels in loader order over the batches read.</summary>
    public IReadOnlyList<long> LabelOrder { get; init; } = [];
}

/// <summary>Timing of training steps: time waiting for the next batch and time of the model step.</summary>
/// <param name="Steps">Steps timed.</param>
/// <param name="WaitMs">Total milliseconds waiting for batches.</param>
/// <param name="StepMs">Total milliseconds in the model step.</param>
/// <param name="Workers">The loader's num_workers.</param>
public sealed record ThroughputObservation(int Steps, double WaitMs, double StepMs, int Workers)
{
    /// <summary>Fraction of each step spent waiting for data.</summary>
    public double WaitFraction => WaitMs + StepMs <= 0 ? 0 : WaitMs / (WaitMs + StepMs);
}

/// <summary>A CSV column that holds text (categories), left out of the features.</summary>
/// <param name="Name">The column name.</param>
/// <param name="Distinct">Number of distinct values.</param>
/// <param name="Examples">Up to 5 distinct values.</param>
/// <param name="FirstLine">The first line (1-based) whose cell is not a number.</param>
public sealed record CsvTextColumn(string Name, int Distinct, IReadOnlyList<string> Examples, int FirstLine);

/// <summary>Statistics of one numeric CSV column over its finite values.</summary>
/// <param name="Name">The column name.</param>
/// <param name="Count">Finite values.</param>
/// <param name="NonFinite">NaN/Inf/empty cells.</param>
/// <param name="Mean">Mean.</param>
/// <param name="Std">Sample standard deviation.</param>
/// <param name="Min">Smallest value.</param>
/// <param name="Max">Largest value.</param>
public sealed record CsvColumnStats(string Name, long Count, long NonFinite, double Mean, double Std, double Min, double Max);
