using TorchDoctor.Findings;
using System.Text;

namespace TorchDoctor.Porting;

/// <summary>
/// One module as PyTorch's <c>print(model)</c> shows it: its name in the parent, its type, its
/// <c>extra_repr</c> text (the arguments) and its children. Built from a live TorchSharp module
/// (<see cref="ModelPrinter"/>) or parsed from PyTorch's printed text (<see cref="PrintParser"/>),
/// so the two can be compared by <see cref="StructureDiff"/>.
/// </summary>
public sealed class PrintedModule
{
    private readonly List<PrintedModule> _children = [];

    /// <summary>Creates a node.</summary>
    /// <param name="name">Name in the parent (empty for the root).</param>
    /// <param name="typeName">PyTorch type name, e.g. <c>Conv2d</c>.</param>
    /// <param name="arguments">The <c>extra_repr</c> text, e.g. <c>3, 64, kernel_size=(7, 7)</c>; may hold several lines.</param>
    /// <param name="note">Set when TorchDoctor does not know the layer type and so cannot show its arguments.</param>
    public PrintedModule(string name, string typeName, string arguments = "", string? note = null)
    {
        Name = name;
        TypeName = typeName;
        Arguments = arguments;
        Note = note;
    }

    /// <summary>Name in the parent; empty for the root.</summary>
    public string Name { get; }
    /// <summary>Type name as PyTorch prints it.</summary>
    public string TypeName { get; }
    /// <summary>The arguments (PyTorch's <c>extra_repr</c>), empty when there are none.</summary>
    public string Arguments { get; }
    /// <summary>Why the arguments are not shown (a layer type unknown to TorchDoctor), or null.</summary>
    public string? Note { get; }
    /// <summary>True when the type is known and its arguments are PyTorch's.</summary>
    public bool IsKnown => Note is null;
    /// <summary>Parent node, or null for the root.</summary>
    public PrintedModule? Parent { get; private set; }
    /// <summary>Children in registration order.</summary>
    public IReadOnlyList<PrintedModule> Children => _children;
    /// <summary>Dotted path from the root (<c>layer1.0.conv1</c>); empty for the root.</summary>
    public string Path => Parent is null ? "" : Parent.Path.Length == 0 ? Name : Parent.Path + "." + Name;
    /// <summary>Path shown to people: the path, or <c>(root)</c>.</summary>
    public string DisplayPath => ModuleNames.Display(Path);

    /// <summary>Adds a child and returns it.</summary>
    public PrintedModule Add(PrintedModule child)
    {
        ArgumentNullException.ThrowIfNull(child);
        child.Parent = this;
        _children.Add(child);
        return child;
    }

    /// <summary>This node and its descendants, pre-order.</summary>
    public IEnumerable<PrintedModule> SelfAndDescendants()
    {
        yield return this;
        foreach (var c in _children)
            foreach (var d in c.SelfAndDescendants())
                yield return d;
    }

    /// <summary>The node at a dotted path below this one, or null.</summary>
    public PrintedModule? Find(string path)
    {
        if (path.Length == 0) return this;
        var node = this;
        foreach (var part in path.Split('.'))
        {
            node = node._children.FirstOrDefault(c => c.Name == part);
            if (node is null) return null;
        }
        return node;
    }

    /// <summary>One line: <c>Type(arguments)</c> (the first line of multi-line arguments).</summary>
    public string Header => TypeName + "(" + Arguments.Split('\n')[0] + ")";

    /// <summary>PyTorch's <c>repr(module)</c> text.</summary>
    public override string ToString() => ToText(new PrintOptions());

    /// <summary>PyTorch's <c>repr(module)</c> text with the given options.</summary>
    public string ToText(PrintOptions options)
    {
        ArgumentNullException.ThrowIfNull(options);
        var extraLines = Arguments.Length == 0 ? [] : Arguments.Split('\n').ToList();
        var childLines = new List<string>();
        if (options.CompactModuleLists && TypeName == "ModuleList" && _children.Count > 0)
        {
            // PyTorch 2.x ModuleList.__repr__: runs of identical reprs become "(0-3): 4 x Linear(...)".
            int i = 0;
            while (i < _children.Count)
            {
                var text = _children[i].ToText(options);
                int j = i;
                while (j + 1 < _children.Count && _children[j + 1].ToText(options) == text) j++;
                var label = i == j ? $"({_children[i].Name}): {text}" : $"({_children[i].Name}-{_children[j].Name}): {j - i + 1} x {text}";
                childLines.Add(AddIndent(label, 2));
                i = j + 1;
            }
        }
        else
        {
            foreach (var c in _children) childLines.Add(AddIndent($"({c.Name}): {c.ToText(options)}", 2));
        }
        var sb = new StringBuilder(TypeName).Append('(');
        var lines = extraLines.Concat(childLines).ToList();
        if (lines.Count > 0)
        {
            if (extraLines.Count == 1 && childLines.Count == 0) sb.Append(extraLines[0]);
            else sb.Append("\n  ").Append(string.Join("\n  ", lines)).Append('\n');
        }
        sb.Append(')');
        if (Note is not null && options.ShowNotes)
        {
            // After the first line, so the rest of the text keeps PyTorch's layout.
            var text = sb.ToString();
            var nl = text.IndexOf('\n');
            return nl < 0 ? text + "  # " + Note : text[..nl] + "  # " + Note + text[nl..];
        }
        return sb.ToString();
    }

    private static string AddIndent(string s, int spaces)
    {
        var lines = s.Split('\n');
        if (lines.Length == 1) return s;
        var pad = new string(' ', spaces);
        return lines[0] + "\n" + string.Join("\n", lines.Skip(1).Select(l => pad + l));
    }

    /// <summary>A canonical text of the subtree without this node's own name (for matching renamed modules).</summary>
    internal string Signature => ToText(new PrintOptions { ShowNotes = false, CompactModuleLists = false });
}

/// <summary>How <see cref="PrintedModule.ToText"/> renders.</summary>
public sealed record PrintOptions
{
    /// <summary>
    /// Print runs of identical ModuleList items as <c>(0-3): 4 x Linear(...)</c>, as PyTorch 2.x does
    /// (PyTorch 1.x lists every item). Default true.
    /// </summary>
    public bool CompactModuleLists { get; init; } = true;

    /// <summary>Append <c>  # ...</c> to layers TorchDoctor does not know (their arguments are not shown). Default true.</summary>
    public bool ShowNotes { get; init; } = true;
}
