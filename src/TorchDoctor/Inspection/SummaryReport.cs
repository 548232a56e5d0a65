using TorchDoctor.Probes;
using TorchDoctor.Findings;

namespace TorchDoctor.Inspection;

/// <summary>One row of a summary: one call of one module (or a container that holds called modules).</summary>
public sealed class SummaryRow
{
    /// <summary>Dotted module path (empty for the root).</summary>
    public required string Path { get; init; }
    /// <summary>Module type, e.g. <c>Conv2d</c>.</summary>
    public required string Type { get; init; }
    /// <summary>Depth in the module tree (root 0).</summary>
    public required int Depth { get; init; }
    /// <summary>Running index among rows of the same depth (torchinfo's depth-idx).</summary>
    public int DepthIndex { get; internal set; }
    /// <summary>torchinfo label, e.g. <c>Conv2d: 1-1</c> (root: just the type).</summary>
    public string Label => Depth == 0 ? Type : $"{Type}: {Depth}-{DepthIndex}";
    /// <summary>Shapes of the tensors the call received.</summary>
    public IReadOnlyList<long[]> InputShapes { get; init; } = [];
    /// <summary>Shapes of all output tensors (the first is torchinfo's output size).</summary>
    public IReadOnlyList<long[]> OutputShapes { get; init; } = [];
    /// <summary>Bytes of the first output tensor (torchinfo's output_bytes).</summary>
    public long OutputBytes { get; init; }
    /// <summary>Parameters of the module and its descendants (shared tensors once).</summary>
    public long Params { get; init; }
    /// <summary>Of <see cref="Params"/>, those that require gradients.</summary>
    public long TrainableParams { get; init; }
    /// <summary>Parameters not shown on any descendant row (torchinfo's leftover).</summary>
    public long LeftoverParams { get; internal set; }
    /// <summary>Mult-adds of this call (torchinfo convention; non-leaf rows are not summed); null when unknown: a
    /// TorchScript module computes natively, so its cost cannot be derived from its parameters.</summary>
    public long? MultAdds { get; init; }
    /// <summary>Kernel size for convolution and pooling, e.g. <c>[3, 3]</c>.</summary>
    public string? KernelSize { get; init; }
    /// <summary>True when the module has no children.</summary>
    public bool IsLeaf { get; init; }
    /// <summary>True for the second and later calls of a module, or a module whose parameters all appeared on earlier rows (tied).</summary>
    public bool Recursive { get; internal set; }
    /// <summary>False for a container row inserted to show structure (e.g. a ModuleList) and for the failing call.</summary>
    public bool Ran { get; init; } = true;
    /// <summary>True for a call that started but threw (the forward pass failed inside it).</summary>
    public bool Failed { get; init; }
    /// <summary>Wall time of the call including children, milliseconds (0 when not measured).</summary>
    public double TimeMs { get; init; }

    internal HashSet<long> ParamKeys { get; init; } = [];
    internal HashSet<long> DirectParamKeys { get; init; } = [];
    internal object? ModuleRef { get; init; }

    /// <summary>The Param # cell as torchinfo prints it at the given display depth.</summary>
    public string ParamsCell(int maxDepth)
    {
        if (Params == 0) return "--";
        if (Recursive) return "(recursive)";
        if (Depth == maxDepth || IsLeaf)
        {
            var s = Params.ToString("N0", System.Globalization.CultureInfo.InvariantCulture);
            return TrainableParams > 0 ? s : $"({s})";
        }
        return LeftoverParams > 0 ? LeftoverParams.ToString("N0", System.Globalization.CultureInfo.InvariantCulture) : "--";
    }

    /// <summary>True / False / Partial / --.</summary>
    public string TrainableCell => Params == 0 ? "--" : TrainableParams == 0 ? "False" : TrainableParams == Params ? "True" : "Partial";
}

/// <summary>Why a forward pass failed, located and explained.</summary>
public sealed class ForwardFailure
{
    /// <summary>Path of the innermost module that was running.</summary>
    public required string Module { get; init; }
    /// <summary>Its type.</summary>
    public required string ModuleType { get; init; }
    /// <summary>Its configuration (e.g. <c>in_features=30</c>).</summary>
    public IReadOnlyList<(string Name, string Value)> Configuration { get; init; } = [];
    /// <summary>Shapes it received.</summary>
    public IReadOnlyList<long[]> InputShapes { get; init; } = [];
    /// <summary>Dtypes it received.</summary>
    public IReadOnlyList<string> InputDTypes { get; init; } = [];
    /// <summary>The modules that ran just before, most recent last: path, type, output shape.</summary>
    public IReadOnlyList<(string Path, string Type, long[]? OutputShape)> Previous { get; init; } = [];
    /// <summary>The rule the input broke, in plain words.</summary>
    public required string Rule { get; init; }
    /// <summary>The concrete fix.</summary>
    public required string Fix { get; init; }
    /// <summary>A warning that goes with the fix (e.g. reshape scrambles elements), or null.</summary>
    public string? Caution { get; init; }
    /// <summary>libtorch's own message (first line).</summary>
    public required string NativeMessage { get; init; }
    /// <summary>Which rule family matched, e.g. <c>linear-in-features</c>; <c>unknown</c> when none did.</summary>
    public required string Kind { get; init; }
}

/// <summary>The result of a model summary: rows, totals, measured memory, findings, and the failure if the pass failed.</summary>
public sealed record SummaryReport
{
    /// <summary>Name of the model (type name or file).</summary>
    public required string ModelName { get; init; }
    /// <summary>Rows in execution order.</summary>
    public required IReadOnlyList<SummaryRow> Rows { get; init; }
    /// <summary>All parameters, shared tensors once.</summary>
    public long TotalParams { get; init; }
    /// <summary>Parameters that require gradients.</summary>
    public long TrainableParams { get; init; }
    /// <summary>Parameters that do not.</summary>
    public long NonTrainableParams => TotalParams - TrainableParams;
    /// <summary>Sum of mult-adds of leaf calls (torchinfo convention); null when unknown (the model contains
    /// TorchScript, whose layers run unobserved).</summary>
    public long? MultAdds { get; init; }
    /// <summary>Bytes of the input tensors.</summary>
    public long InputBytes { get; init; }
    /// <summary>Outputs of leaf modules with parameters, ×2 for their gradients (torchinfo convention); null when
    /// unknown (the model contains TorchScript, whose layers' outputs are not observed).</summary>
    public long? ForwardBackwardBytes { get; init; }
    /// <summary>Bytes of all parameters (shared once).</summary>
    public long ParamsBytes { get; init; }
    /// <summary>Bytes of all buffers (e.g. BatchNorm running statistics); torchinfo leaves them out of its estimate.</summary>
    public long BuffersBytes { get; init; }
    /// <summary>Input + forward/backward + params (torchinfo's estimated total); null when the forward/backward size is unknown.</summary>
    public long? EstimatedTotalBytes => ForwardBackwardBytes is { } fb ? InputBytes + fb + ParamsBytes : null;
    /// <summary>Measured growth of resident memory over one forward+backward step, or null when not measured.</summary>
    public long? MeasuredPeakBytes { get; init; }
    /// <summary>How <see cref="MeasuredPeakBytes"/> was measured.</summary>
    public string? MeasurementMethod { get; init; }
    /// <summary>TorchSharp live tensors before and after the measured step (equal when nothing leaked).</summary>
    public (long Before, long After)? LiveTensors { get; init; }
    /// <summary>Shapes of the inputs.</summary>
    public IReadOnlyList<long[]> InputShapes { get; init; } = [];
    /// <summary>Shapes of the model's outputs.</summary>
    public IReadOnlyList<long[]> OutputShapes { get; init; } = [];
    /// <summary>Paths of modules that never ran.</summary>
    public IReadOnlyList<string> NeverRan { get; init; } = [];
    /// <summary>What was found.</summary>
    public required IReadOnlyList<Finding> Findings { get; init; }
    /// <summary>Set when the forward pass failed.</summary>
    public ForwardFailure? Failure { get; init; }
    /// <summary>Whether the pass ran in training mode.</summary>
    public bool TrainMode { get; init; }

    /// <summary>True when the forward pass completed.</summary>
    public bool Succeeded => Failure is null;


}
