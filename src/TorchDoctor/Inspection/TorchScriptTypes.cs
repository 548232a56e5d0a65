using System.IO.Compression;
using System.Text;
using System.Text.RegularExpressions;

namespace TorchDoctor.Inspection;

/// <summary>
/// The original Python class of every module in a TorchScript archive. TorchSharp wraps each submodule of a loaded
/// script as <c>ScriptModule</c>; the class names are in the file: <c>data.pkl</c> names the root's qualified type
/// (<c>__torch__.torchvision.models.resnet.ResNet</c>), and each class under <c>code/</c> declares its submodules'
/// types as attribute annotations (<c>conv1 : __torch__.torch.nn.modules.conv.Conv2d</c>, or
/// <c>__annotations__["0"] = …</c> for numbered children).
/// </summary>
public static partial class TorchScriptTypes
{
    /// <summary>Nothing past this many modules is resolved (a guard against cyclic or damaged archives).</summary>
    private const int MaxModules = 100_000;

    /// <summary>
    /// Dotted module path (empty for the root) → qualified type name, e.g. <c>"" → __torch__.TinyNet</c>,
    /// <c>"conv" → __torch__.torch.nn.modules.conv.Conv2d</c>. Empty when the archive does not say (then callers keep
    /// <c>ScriptModule</c>); never throws for a readable zip.
    /// </summary>
    public static IReadOnlyDictionary<string, string> Read(string path)
    {
        var result = new Dictionary<string, string>(StringComparer.Ordinal);
        try
        {
            using var zip = ZipFile.OpenRead(path);
            var pkl = zip.Entries.FirstOrDefault(e => e.FullName.EndsWith("/data.pkl", StringComparison.Ordinal) && e.FullName.Count(c => c == '/') == 1);
            if (pkl is null) return result;
            var root = RootType(ReadAll(pkl));
            if (root is null) return result;
            var classes = new Dictionary<string, List<(string Attr, string Type)>>(StringComparer.Ordinal);
            foreach (var e in zip.Entries.Where(e => e.FullName.Contains("/code/", StringComparison.Ordinal) && e.FullName.EndsWith(".py", StringComparison.Ordinal)))
                ParseCode(e.FullName, Encoding.UTF8.GetString(ReadAll(e)), classes);
            result[""] = root;
            var queue = new Queue<string>();
            queue.Enqueue("");
            while (queue.Count > 0 && result.Count < MaxModules)
            {
                var p = queue.Dequeue();
                if (!classes.TryGetValue(result[p], out var attrs)) continue;
                foreach (var (attr, type) in attrs)
                {
                    var child = p.Length == 0 ? attr : p + "." + attr;
                    if (result.TryAdd(child, type) && child.Length < 4096) queue.Enqueue(child);
                }
            }
        }
        catch (Exception e) when (e is IOException or InvalidDataException or UnauthorizedAccessException or NotSupportedException)
        {
            // Unreadable: the loader reports the file itself; the rows keep the wrapper's name.
        }
        return result;
    }

    /// <summary>The class name people know: the last segment of a qualified name (<c>…resnet.ResNet</c> → <c>ResNet</c>).</summary>
    public static string ShortName(string qualified)
    {
        var dot = qualified.LastIndexOf('.');
        return dot < 0 ? qualified : qualified[(dot + 1)..];
    }

    private static byte[] ReadAll(ZipArchiveEntry e)
    {
        if (e.Length > 256L << 20) return [];
        using var s = e.Open();
        using var ms = new MemoryStream();
        s.CopyTo(ms);
        return ms.ToArray();
    }

    /// <summary>The first GLOBAL of data.pkl (opcode 'c', "module\nname\n") is the root object's class.</summary>
    internal static string? RootType(byte[] pkl)
    {
        int i = 0;
        if (pkl.Length > 2 && pkl[0] == 0x80) i = 2;   // PROTO n
        if (i >= pkl.Length || pkl[i] != (byte)'c') return null;
        int a = Array.IndexOf(pkl, (byte)'\n', i + 1);
        if (a < 0) return null;
        int b = Array.IndexOf(pkl, (byte)'\n', a + 1);
        if (b < 0) return null;
        var module = Encoding.UTF8.GetString(pkl, i + 1, a - i - 1);
        var name = Encoding.UTF8.GetString(pkl, a + 1, b - a - 1);
        return module.StartsWith("__torch__", StringComparison.Ordinal) ? module + "." + name : null;
    }

    [GeneratedRegex(@"^class\s+(\w+)\s*\(\s*Module\s*\)\s*:")]
    private static partial Regex ClassLine();

    [GeneratedRegex(@"^\s+(\w+)\s*:\s*(__torch__\.[\w.]+)\s*$")]
    private static partial Regex AttributeLine();

    [GeneratedRegex(@"^\s+__annotations__\[""([^""]+)""\]\s*=\s*(__torch__\.[\w.]+)\s*$")]
    private static partial Regex NumberedAttributeLine();

    [GeneratedRegex(@"^\s+def\s+\w+\s*\(\s*self\s*:\s*(__torch__\.[\w.]+)")]
    private static partial Regex SelfLine();

    /// <summary>Collects each <c>class X(Module):</c> block's submodule annotations under its qualified name.</summary>
    internal static void ParseCode(string entryName, string text, Dictionary<string, List<(string Attr, string Type)>> classes)
    {
        // code/__torch__/torch/nn/modules/conv.py → __torch__.torch.nn.modules.conv
        var rel = entryName[(entryName.IndexOf("/code/", StringComparison.Ordinal) + "/code/".Length)..];
        var fileModule = rel[..^".py".Length].Replace('/', '.');
        string? name = null, qualified = null;
        List<(string, string)>? attrs = null;
        void Flush()
        {
            if (name is null || attrs is null) return;
            var key = qualified ?? fileModule + "." + name;
            classes.TryAdd(key, attrs);
            classes.TryAdd(fileModule + "." + name, attrs);
        }
        foreach (var line in text.Split('\n'))
        {
            if (ClassLine().Match(line) is { Success: true } c)
            {
                Flush();
                name = c.Groups[1].Value;
                qualified = null;
                attrs = [];
                continue;
            }
            if (line.Length > 0 && !char.IsWhiteSpace(line[0])) { Flush(); name = null; attrs = null; continue; }
            if (attrs is null) continue;
            if (qualified is null && SelfLine().Match(line) is { Success: true } s) { qualified = s.Groups[1].Value; continue; }
            var m = AttributeLine().Match(line);
            if (!m.Success) m = NumberedAttributeLine().Match(line);
            if (m.Success) attrs.Add((m.Groups[1].Value, m.Groups[2].Value));
        }
        Flush();
    }
}
