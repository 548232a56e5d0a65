using System.Runtime.CompilerServices;
using Module = TorchSharp.torch.nn.Module;

namespace TorchDoctor.Probes;

/// <summary>
/// The original class names of a loaded TorchScript module's tree (TorchSharp calls every one <c>ScriptModule</c>),
/// by dotted path from the root. The loader that read the archive registers them; <see cref="ModuleTree"/> uses them.
/// </summary>
internal static class ScriptTypeNames
{
    private static readonly ConditionalWeakTable<Module, IReadOnlyDictionary<string, string>> Names = new();

    /// <summary>Records the short type name of each path (empty path: the root) for <paramref name="root"/>.</summary>
    public static void Register(Module root, IReadOnlyDictionary<string, string> shortNamesByPath)
    {
        if (shortNamesByPath.Count > 0) Names.AddOrUpdate(root, shortNamesByPath);
    }

    /// <summary>The registered names for <paramref name="root"/>, or null.</summary>
    public static IReadOnlyDictionary<string, string>? For(Module root) => Names.TryGetValue(root, out var n) ? n : null;
}
