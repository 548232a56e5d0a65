using static TorchSharp.torch;

namespace TorchDoctor.Inspection;

/// <summary>Columns a summary table can show, torchinfo's names.</summary>
[Flags]
public enum SummaryColumns
{
    /// <summary>No optional column.</summary>
    None = 0,
    /// <summary>Shapes of the tensors the module received.</summary>
    InputShape = 1,
    /// <summary>Shape of the module's (first) output.</summary>
    OutputShape = 2,
    /// <summary>Parameter count (torchinfo's Param # rules).</summary>
    Params = 4,
    /// <summary>Share of the total parameters.</summary>
    ParamsPercent = 8,
    /// <summary>Kernel size (convolution and pooling).</summary>
    KernelSize = 16,
    /// <summary>Mult-adds of the call.</summary>
    MultAdds = 32,
    /// <summary>True / False / Partial.</summary>
    Trainable = 64,
    /// <summary>Wall time of the call (includes its children).</summary>
    Time = 128,
    /// <summary>The default set: output shape, params, trainable, kernel size, mult-adds.</summary>
    Default = OutputShape | Params | Trainable | KernelSize | MultAdds,
    /// <summary>Every column.</summary>
    All = InputShape | OutputShape | Params | ParamsPercent | KernelSize | MultAdds | Trainable | Time,
}

/// <summary>How to run a model summary.</summary>
public sealed record SummaryOptions
{
    /// <summary>Shapes of the inputs to generate, one per forward argument (e.g. <c>[1, 3, 224, 224]</c>).</summary>
    public IReadOnlyList<long[]> InputShapes { get; init; } = [];

    /// <summary>Element types of the generated inputs, one per shape (default float32). Use int64 for Embedding indices.</summary>
    public IReadOnlyList<ScalarType> InputDTypes { get; init; } = [];

    /// <summary>Example inputs to use instead of generated ones. They are not modified.</summary>
    public IReadOnlyList<Tensor>? InputTensors { get; init; }

    /// <summary>
    /// When set, the shapes exclude the batch dimension and a batch of 1 is inserted at this index
    /// (torchinfo's <c>batch_dim</c>).
    /// </summary>
    public int? BatchDim { get; init; }


    /// <summary>Run the pass in training mode (BatchNorm uses batch statistics, Dropout is active). Default: eval.
    /// The model's mode, buffers and the global RNG state are restored afterwards.</summary>
    public bool TrainMode { get; init; }


    /// <summary>Measure the peak memory of one forward+backward step (a second, unhooked pass). Default true.</summary>
    public bool MeasureMemory { get; init; } = true;

    /// <summary>Device for generated inputs; default: the device of the model's first parameter, else CPU.</summary>
    public Device? Device { get; init; }

    /// <summary>Seed for generated inputs (a private generator: the global RNG is not touched). Default 0.</summary>
    public long Seed { get; init; }

    /// <summary>
    /// The most memory, in bytes, the summary may need (its estimate is checked before any tensor is made; see
    /// docs/bad-input.md). Null: the memory available now (<c>MemAvailable</c> on Linux).
    /// </summary>
    public long? MaxMemoryBytes { get; init; }
}
