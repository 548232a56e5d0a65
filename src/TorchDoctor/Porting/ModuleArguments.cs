using System.Globalization;

namespace TorchDoctor.Porting;

/// <summary>
/// Reads a printed layer's arguments (<c>3, 64, kernel_size=(7, 7), stride=(2, 2), bias=False</c>) into
/// named values, filling the ones PyTorch leaves out when they have their default (a Conv2d without
/// <c>padding=</c> has padding 0), and compares values the way they mean, not the way they are written:
/// <c>2</c> equals <c>(2, 2)</c>, <c>1e-05</c> equals <c>0.00001</c>, <c>'nearest'</c> equals <c>nearest</c>.
/// </summary>
public static class ModuleArguments
{
    private static readonly Dictionary<string, string[]> Positional = new(StringComparer.Ordinal)
    {
        ["Conv"] = ["in_channels", "out_channels"],
        ["Norm"] = ["num_features"],
        ["LayerNorm"] = ["normalized_shape"],
        ["GroupNorm"] = ["num_groups", "num_channels"],
        ["LocalResponseNorm"] = ["size"],
        ["Embedding"] = ["num_embeddings", "embedding_dim"],
        ["Rnn"] = ["input_size", "hidden_size"],
        ["Shrink"] = ["lambd"],
        ["Pad"] = ["padding"],
    };

    private static readonly Dictionary<string, (string Key, string Value)[]> Defaults = new(StringComparer.Ordinal)
    {
        ["Conv"] = [("padding", "0"), ("dilation", "1"), ("output_padding", "0"), ("groups", "1"), ("bias", "True"), ("padding_mode", "zeros")],
        ["Rnn"] = [("proj_size", "0"), ("num_layers", "1"), ("bias", "True"), ("batch_first", "False"), ("dropout", "0.0"), ("bidirectional", "False"), ("nonlinearity", "tanh")],
        ["Activation"] = [("inplace", "False")],
        ["Embedding"] = [("padding_idx", "None"), ("max_norm", "None")],
    };

    /// <summary>
    /// Arguments TorchSharp does not expose, so a C# model cannot show them: they are not compared
    /// (an LSTM's <c>dropout</c>, an Embedding's <c>padding_idx</c>...). <see cref="StructureDiff"/> lists them as unverified.
    /// </summary>
    public static IReadOnlyList<string> Unverifiable(string typeName) => Family(typeName) switch
    {
        "Rnn" => ["dropout", "nonlinearity"],
        "Embedding" => ["padding_idx", "max_norm", "norm_type", "scale_grad_by_freq", "sparse", "mode"],
        _ => [],
    };

    private static string Family(string type)
    {
        if (type.StartsWith("Conv", StringComparison.Ordinal) && !type.StartsWith("Conv2dNorm", StringComparison.Ordinal)) return "Conv";
        if (type.StartsWith("BatchNorm", StringComparison.Ordinal) || type.StartsWith("InstanceNorm", StringComparison.Ordinal) || type.StartsWith("LazyBatchNorm", StringComparison.Ordinal)) return "Norm";
        if (type is "LSTM" or "GRU" or "RNN") return "Rnn";
        if (type is "Hardshrink" or "Softshrink") return "Shrink";
        if (type.StartsWith("Embedding", StringComparison.Ordinal)) return "Embedding";
        if (type.EndsWith("Pad1d", StringComparison.Ordinal) || type.EndsWith("Pad2d", StringComparison.Ordinal) || type.EndsWith("Pad3d", StringComparison.Ordinal))
            return type.StartsWith("ConstantPad", StringComparison.Ordinal) ? "ConstantPad" : "Pad";
        if (type is "ReLU" or "ReLU6" or "SELU" or "SiLU" or "Mish" or "LeakyReLU" or "ELU" or "CELU" or "Hardtanh" or "Threshold" or "RReLU" or "Hardswish" or "Hardsigmoid") return "Activation";
        return type;
    }

    /// <summary>The arguments of a printed <paramref name="typeName"/> layer, by name, defaults filled in.</summary>
    public static IReadOnlyDictionary<string, string> Parse(string typeName, string arguments)
    {
        var family = Family(typeName);
        var result = new Dictionary<string, string>(StringComparer.Ordinal);
        var positional = Positional.GetValueOrDefault(family) ?? [];
        int index = 0;
        foreach (var token in SplitTopLevel(arguments.Replace('\n', ',')))
        {
            var t = token.Trim();
            if (t.Length == 0) continue;
            var eq = EqualsAtTopLevel(t);
            if (eq > 0 && IsIdentifier(t[..eq]))
                result[t[..eq]] = t[(eq + 1)..].Trim();
            else
            {
                result[index < positional.Length ? positional[index] : "arg" + index.ToString(CultureInfo.InvariantCulture)] = t;
                index++;
            }
        }
        foreach (var (k, v) in Defaults.GetValueOrDefault(family) ?? [])
            result.TryAdd(k, v);
        return result;
    }

    /// <summary>True when two printed values mean the same thing.</summary>
    public static bool SameValue(string a, string b)
    {
        a = Unquote(a.Trim());
        b = Unquote(b.Trim());
        if (a == b) return true;
        var xa = Elements(a);
        var xb = Elements(b);
        if (xa is null || xb is null) return false;
        // A scalar stands for a tuple of equal elements (PyTorch keeps the user's form: 2 vs (2, 2)).
        if (xa.Count == 1 && xb.Count > 1) xa = Enumerable.Repeat(xa[0], xb.Count).ToList();
        if (xb.Count == 1 && xa.Count > 1) xb = Enumerable.Repeat(xb[0], xa.Count).ToList();
        if (xa.Count != xb.Count) return false;
        for (int i = 0; i < xa.Count; i++)
        {
            if (xa[i] == xb[i]) continue;
            if (!double.TryParse(xa[i], NumberStyles.Float, CultureInfo.InvariantCulture, out var da) ||
                !double.TryParse(xb[i], NumberStyles.Float, CultureInfo.InvariantCulture, out var db))
                return false;
            if (!(Math.Abs(da - db) <= 1e-9 * Math.Max(1, Math.Max(Math.Abs(da), Math.Abs(db))))) return false;
        }
        return true;
    }

    private static List<string>? Elements(string v)
    {
        var s = v.Trim();
        if (s.StartsWith('(') && s.EndsWith(')') || s.StartsWith('[') && s.EndsWith(']'))
            return SplitTopLevel(s[1..^1]).Select(x => Unquote(x.Trim())).Where(x => x.Length > 0).ToList();
        return [s];
    }

    private static string Unquote(string s)
        => s.Length >= 2 && (s[0] == '\'' && s[^1] == '\'' || s[0] == '"' && s[^1] == '"') ? s[1..^1] : s;

    private static bool IsIdentifier(string s) => s.Length > 0 && (char.IsLetter(s[0]) || s[0] == '_') && s.All(c => char.IsLetterOrDigit(c) || c == '_');

    private static int EqualsAtTopLevel(string s)
    {
        int depth = 0;
        for (int i = 0; i < s.Length; i++)
        {
            var c = s[i];
            if (c is '(' or '[' or '{') depth++;
            else if (c is ')' or ']' or '}') depth--;
            else if (c == '=' && depth == 0) return i;
        }
        return -1;
    }

    /// <summary>Splits on commas outside brackets and quotes.</summary>
    internal static List<string> SplitTopLevel(string s)
    {
        var parts = new List<string>();
        int depth = 0, start = 0;
        char quote = '\0';
        for (int i = 0; i < s.Length; i++)
        {
            var c = s[i];
            if (quote != '\0') { if (c == quote) quote = '\0'; continue; }
            if (c is '\'' or '"') quote = c;
            else if (c is '(' or '[' or '{') depth++;
            else if (c is ')' or ']' or '}') depth--;
            else if (c == ',' && depth == 0)
            {
                parts.Add(s[start..i]);
                start = i + 1;
            }
        }
        parts.Add(s[start..]);
        return parts;
    }
}
