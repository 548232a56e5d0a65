using System.Diagnostics;
using static TorchSharp.torch.nn;

namespace TorchDoctor.Probes;

/// <summary>One call of one module during a forward pass.</summary>
public sealed class ModuleCall
{
    internal ModuleCall(int index, ModuleNode node, int callNumber, ModuleCall? parent, List<TensorInfo> inputs)
    {
        Index = index;
        Node = node;
        CallNumber = callNumber;
        Parent = parent;
        Inputs = inputs;
    }

    /// <summary>Position in execution order (0-based, by entry).</summary>
    public int Index { get; }
    /// <summary>The module that ran.</summary>
    public ModuleNode Node { get; }
    /// <summary>1 for the module's first call in this pass, 2 for the second, …</summary>
    public int CallNumber { get; }
    /// <summary>The call that was running when this one started (its caller), or null.</summary>
    public ModuleCall? Parent { get; }
    /// <summary>Tensors the module received.</summary>
    public IReadOnlyList<TensorInfo> Inputs { get; }
    /// <summary>Tensors the module returned (empty until it returned).</summary>
    public IReadOnlyList<TensorInfo> Outputs { get; internal set; } = [];
    /// <summary>True once the module's forward returned.</summary>
    public bool Completed { get; internal set; }
    /// <summary>Wall time of the call including its children, when completed.</summary>
    public TimeSpan Elapsed { get; internal set; }
    /// <summary>True when this is not the module's first call in the pass.</summary>
    public bool IsRecursive => CallNumber > 1;

    internal long StartTicks;
}

/// <summary>
/// Records every hooked module call of a forward pass in execution order, with input and output shapes.
/// If the pass throws, the calls that had started but not returned remain open: the last one is the
/// innermost module that was running.
/// </summary>
public sealed class CallRecorder : IForwardObserver
{
    private readonly ModuleTree _tree;
    private readonly List<ModuleCall> _calls = [];
    private readonly Stack<ModuleCall> _open = new();
    private readonly Dictionary<Module, int> _counts = new(ReferenceEqualityComparer.Instance);
    private readonly Dictionary<Module, ModuleNode> _strays = new(ReferenceEqualityComparer.Instance);

    /// <summary>Creates a recorder for the modules of <paramref name="tree"/>.</summary>
    public CallRecorder(ModuleTree tree) => _tree = tree;

    /// <summary>All calls so far, in execution order.</summary>
    public IReadOnlyList<ModuleCall> Calls => _calls;

    /// <summary>Calls that started and have not returned, innermost last.</summary>
    public IReadOnlyList<ModuleCall> OpenCalls => _open.Reverse().ToList();

    /// <summary>Forgets everything recorded.</summary>
    public void Clear()
    {
        _calls.Clear();
        _open.Clear();
        _counts.Clear();
    }

    /// <inheritdoc />
    public void OnEnter(Module module, object?[] inputs)
    {
        var node = _tree.Find(module) ?? Stray(module);
        _counts[module] = _counts.GetValueOrDefault(module) + 1;
        var call = new ModuleCall(_calls.Count, node, _counts[module], _open.Count > 0 ? _open.Peek() : null,
            inputs.SelectMany(TensorInfo.Collect).ToList());
        _calls.Add(call);
        _open.Push(call);
        call.StartTicks = Stopwatch.GetTimestamp();
    }

    /// <inheritdoc />
    public object? OnExit(Module module, object?[] inputs, object? output)
    {
        // Pop to the matching call (robust to an inner hook that threw and never popped).
        while (_open.Count > 0)
        {
            var call = _open.Pop();
            if (!ReferenceEquals(call.Node.Module, module)) continue;
            call.Elapsed = Stopwatch.GetElapsedTime(call.StartTicks);
            call.Outputs = TensorInfo.Collect(output);
            call.Completed = true;
            return null;
        }
        return null;
    }

    private ModuleNode Stray(Module module)
    {
        if (!_strays.TryGetValue(module, out var node))
        {
            node = new ModuleNode(module, "", $"<unregistered {ModuleNode.TypeNameOf(module)}>", 1, _tree.Root);
            _strays[module] = node;
        }
        return node;
    }
}
