using System.Reflection;
using Module = TorchSharp.torch.nn.Module;
using TorchSharp;
using static TorchSharp.torch;
using static TorchSharp.torch.nn;

namespace TorchDoctor.Probes;

/// <summary>One module in a model's tree, with its path and its own (direct) parameters and buffers.</summary>
public sealed class ModuleNode
{
    internal ModuleNode(Module module, string name, string path, int depth, ModuleNode? parent, string? typeName = null)
    {
        Module = module;
        Name = name;
        Path = path;
        Depth = depth;
        Parent = parent;
        TypeName = typeName ?? TypeNameOf(module);
    }

    /// <summary>The live module.</summary>
    public Module Module { get; }
    /// <summary>Its name in the parent (empty for the root).</summary>
    public string Name { get; }
    /// <summary>Dotted path from the root, PyTorch style (e.g. <c>layer1.0.conv1</c>); empty for the root.</summary>
    public string Path { get; }
    /// <summary>Depth in the tree; the root is 0.</summary>
    public int Depth { get; }
    /// <summary>Parent node, or null for the root.</summary>
    public ModuleNode? Parent { get; }
    /// <summary>Short type name (generic arity removed), e.g. <c>Conv2d</c>; for a TorchScript module loaded by
    /// the TorchScript loader, the Python class it was scripted from (e.g. <c>ResNet</c>).</summary>
    public string TypeName { get; }
    /// <summary>Registered children in registration order.</summary>
    public List<ModuleNode> Children { get; } = [];
    /// <summary>Parameters registered directly on this module (not on children).</summary>
    public List<(string Name, TorchSharp.Modules.Parameter Parameter)> DirectParameters { get; } = [];
    /// <summary>Buffers registered directly on this module.</summary>
    public List<(string Name, Tensor Buffer)> DirectBuffers { get; } = [];

    /// <summary>Path shown to people: the path, or <c>(root)</c>.</summary>
    public string DisplayPath => Findings.ModuleNames.Display(Path);

    /// <summary>True when the node has no children.</summary>
    public bool IsLeaf => Children.Count == 0;

    /// <summary>This node and all its descendants, pre-order.</summary>
    public IEnumerable<ModuleNode> SelfAndDescendants()
    {
        yield return this;
        foreach (var c in Children)
            foreach (var d in c.SelfAndDescendants())
                yield return d;
    }

    /// <summary>The module's configuration: its public scalar and array properties (e.g. <c>in_features=20</c>).</summary>
    public IReadOnlyList<(string Name, string Value)> Configuration() => ModuleConfig.Describe(Module);

    /// <summary>Short type name for a module instance.</summary>
    public static string TypeNameOf(Module module)
    {
        var n = module.GetType().Name;
        var tick = n.IndexOf('`');
        return tick < 0 ? n : n[..tick];
    }

    /// <inheritdoc />
    public override string ToString() => $"{DisplayPath} ({TypeName})";
}

/// <summary>
/// The module tree of a model, built from <c>named_children()</c> recursively (TorchSharp's
/// <c>named_modules()</c> omits the root and is not in PyTorch's pre-order).
/// </summary>
public sealed class ModuleTree
{
    private readonly Dictionary<Module, ModuleNode> _byModule = new(ReferenceEqualityComparer.Instance);

    private readonly IReadOnlyDictionary<string, string>? _scriptNames;

    private ModuleTree(ModuleNode root, IReadOnlyDictionary<string, string>? scriptNames)
    {
        Root = root;
        _scriptNames = scriptNames;
    }

    /// <summary>The root node.</summary>
    public ModuleNode Root { get; }

    /// <summary>All nodes, pre-order (parents before children, registration order).</summary>
    public IReadOnlyList<ModuleNode> Nodes { get; private set; } = [];

    /// <summary>The node of a module object that appears in the tree (the first path, when shared).</summary>
    public ModuleNode? Find(Module module) => _byModule.GetValueOrDefault(module);

    /// <summary>The node at a dotted path, or null.</summary>
    public ModuleNode? FindPath(string path) => Nodes.FirstOrDefault(n => n.Path == path);

    /// <summary>Builds the tree of <paramref name="root"/>.</summary>
    public static ModuleTree Build(Module root)
    {
        Runtime.TorchRuntime.EnsureLoaded();
        var names = ScriptTypeNames.For(root);
        var rootNode = new ModuleNode(root, "", "", 0, null, names?.GetValueOrDefault(""));
        var tree = new ModuleTree(rootNode, names);
        var order = new List<ModuleNode>();
        tree.Visit(rootNode, order);
        tree.Nodes = order;
        return tree;
    }

    private void Visit(ModuleNode node, List<ModuleNode> order)
    {
        order.Add(node);
        _byModule.TryAdd(node.Module, node);
        var childNames = new HashSet<string>();
        foreach (var (name, child) in node.Module.named_children())
        {
            childNames.Add(name);
            var path = node.Path.Length == 0 ? name : node.Path + "." + name;
            var c = new ModuleNode(child, name, path, node.Depth + 1, node, _scriptNames?.GetValueOrDefault(path));
            node.Children.Add(c);
            Visit(c, order);
        }
        // Direct parameters: named_parameters(recurse: false) is the module's own set.
        // TorchScript modules list their children's parameters as their own ("conv.weight"): keep only
        // names that no child owns, so each parameter belongs to exactly one node.
        bool Own(string name) => !(node.Module is jit.ScriptModule && name.Contains('.') && childNames.Contains(name[..name.IndexOf('.')]));
        foreach (var (name, p) in node.Module.named_parameters(recurse: false))
            if (Own(name)) node.DirectParameters.Add((name, p));
        foreach (var (name, b) in node.Module.named_buffers(recurse: false))
            if (Own(name)) node.DirectBuffers.Add((name, b));
    }
}

/// <summary>Reads a module's configuration from its public properties.</summary>
public static class ModuleConfig
{
    private static readonly HashSet<string> Skip = ["training", "weight", "bias"];

    /// <summary>
    /// The module's public scalar, enum and integer-array properties, e.g. <c>in_features=20</c>,
    /// <c>kernel_size=(3, 3)</c>, in declaration order.
    /// </summary>
    public static IReadOnlyList<(string Name, string Value)> Describe(Module module)
    {
        var result = new List<(string, string)>();
        foreach (var p in module.GetType().GetProperties(BindingFlags.Public | BindingFlags.Instance))
        {
            if (p.DeclaringType is null || p.DeclaringType.Assembly != module.GetType().Assembly && p.DeclaringType.Assembly != typeof(Module).Assembly) continue;
            if (p.DeclaringType == typeof(Module) || Skip.Contains(p.Name) || p.GetIndexParameters().Length > 0) continue;
            if (p.DeclaringType.IsGenericType && p.DeclaringType.GetGenericTypeDefinition().Name.StartsWith("HookableModule", StringComparison.Ordinal)) continue;
            var t = Nullable.GetUnderlyingType(p.PropertyType) ?? p.PropertyType;
            if (!(t.IsPrimitive || t.IsEnum || t == typeof(long[]) || t == typeof(double[]) || t == typeof(string))) continue;
            object? v;
            try { v = p.GetValue(module); } catch { continue; }
            if (v is null) continue;
            result.Add((p.Name, Format(v)));
        }
        // Layers whose sizes live only in their weight (TorchSharp's Embedding, for one).
        if (result.Count == 0 && module is TorchSharp.Modules.Embedding emb && emb.weight is { } w)
        {
            result.Add(("num_embeddings", w.shape[0].ToString(System.Globalization.CultureInfo.InvariantCulture)));
            result.Add(("embedding_dim", w.shape[1].ToString(System.Globalization.CultureInfo.InvariantCulture)));
        }
        return result;
    }

    internal static string Format(object v) => v switch
    {
        long[] a => "(" + string.Join(", ", a) + ")",
        double[] d => "(" + string.Join(", ", d.Select(x => x.ToString(System.Globalization.CultureInfo.InvariantCulture))) + ")",
        bool b => b ? "True" : "False",
        double d => d.ToString(System.Globalization.CultureInfo.InvariantCulture),
        float f => f.ToString(System.Globalization.CultureInfo.InvariantCulture),
        _ => v.ToString() ?? "",
    };
}
