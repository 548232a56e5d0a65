using System.Text.RegularExpressions;

namespace TorchDoctor.Porting;

/// <summary>Thrown when a text is not PyTorch's <c>print(model)</c> output; the message names the line and what was expected.</summary>
public sealed class PrintFormatException(string message) : Exception(message);

/// <summary>
/// Parses the text PyTorch's <c>print(model)</c> writes (pasted into a file by the user) into a
/// <see cref="PrintedModule"/> tree. Accepts PyTorch 1.x and 2.x layouts, including 2.x's compact
/// ModuleList runs <c>(0-3): 4 x Linear(...)</c> (expanded back into items), text before the model's
/// first line (a prompt, a log line), trailing comments <c>  # ...</c> and Windows line endings.
/// </summary>
public static partial class PrintParser
{
    [GeneratedRegex(@"^\((?<name>[^()]*)\): (?<rest>.*)$")]
    private static partial Regex ChildLine();

    [GeneratedRegex(@"^(?<from>\d+)-(?<to>\d+)$")]
    private static partial Regex RangeName();

    [GeneratedRegex(@"^(?<n>\d+) x (?<rest>.*)$")]
    private static partial Regex RepeatPrefix();

    [GeneratedRegex(@"^[A-Za-z_][\w.]*\(")]
    private static partial Regex ModuleStart();

    /// <summary>Parses <paramref name="text"/>; throws <see cref="PrintFormatException"/> when it is not a printed module.</summary>
    public static PrintedModule Parse(string text)
    {
        ArgumentNullException.ThrowIfNull(text);
        var lines = text.Replace("\r\n", "\n").Replace('\r', '\n').Split('\n')
            .Select(StripComment).ToList();
        int start = lines.FindIndex(l => l.Length > 0 && !char.IsWhiteSpace(l[0]) && ModuleStart().IsMatch(l));
        if (start < 0)
            throw new PrintFormatException("no line looks like the start of a printed PyTorch module (e.g. 'ResNet(' or 'Sequential('); paste the output of print(model)");
        int i = start;
        var root = ParseModule(lines, ref i, "", lines[start], 0);
        for (int k = i; k < lines.Count; k++)
            if (lines[k].Trim().Length > 0)
                throw new PrintFormatException($"line {k + 1}: unexpected text after the model's closing ')': '{Short(lines[k])}'");
        return root;
    }

    private static string StripComment(string line)
    {
        var hash = line.IndexOf("  # ", StringComparison.Ordinal);
        return (hash >= 0 ? line[..hash] : line).TrimEnd();
    }

    /// <summary>
    /// Deepest nesting accepted (torchvision's models nest under 10 levels): deeper text is refused before the recursion,
    /// the path strings and the structural diff grow with depth × size.
    /// </summary>
    public const int MaxDepth = 256;

    /// <summary>Parses the module whose header (<c>Type(...</c>) is <paramref name="header"/>, found on line <paramref name="i"/> at <paramref name="indent"/>; leaves <paramref name="i"/> after its last line.</summary>

    private static PrintedModule ParseModule(List<string> lines, ref int i, string name, string header, int indent)
    {
        int lineNo = i + 1;
        if (indent / 2 > MaxDepth)
            throw new PrintFormatException($"line {lineNo}: modules nest more than {MaxDepth} levels deep; a printed PyTorch model is far shallower (was the text generated or garbled?)");
        var open = header.IndexOf('(');
        if (open <= 0)
            throw new PrintFormatException($"line {lineNo}: expected 'Type(...)' but found '{Short(header)}'");
        var type = header[..open].Trim();
        var rest = header[(open + 1)..];
        i++;
        if (rest.Length > 0 && ClosesAtEnd(rest))
            return new PrintedModule(name, type, rest[..^1]);   // one line: Type(args)
        if (rest.Length > 0)
            throw new PrintFormatException($"line {lineNo}: unbalanced parentheses in '{Short(header)}'");
        // Multi-line: extra_repr lines and children at indent+2, then ')' at indent.
        var extra = new List<string>();
        var children = new List<PrintedModule>();
        var pad = new string(' ', indent + 2);
        while (true)
        {
            if (i >= lines.Count)
                throw new PrintFormatException($"line {lineNo}: '{type}(' is never closed (the text ends first: was it cut short?)");
            var line = lines[i];
            if (line.Trim().Length == 0) { i++; continue; }
            int lead = line.Length - line.TrimStart(' ').Length;
            if (lead == indent && line.Trim() == ")") { i++; break; }
            if (lead != indent + 2)
                throw new PrintFormatException($"line {i + 1}: expected two more spaces of indentation than line {lineNo} ('{type}('), found {lead} spaces: '{Short(line)}'");
            var body = line[pad.Length..];
            var m = ChildLine().Match(body);
            if (m.Success)
            {
                var childName = m.Groups["name"].Value;
                var childRest = m.Groups["rest"].Value;
                var range = RangeName().Match(childName);
                var repeat = RepeatPrefix().Match(childRest);
                if (range.Success && repeat.Success)
                {
                    // PyTorch 2.x ModuleList: "(0-3): 4 x Block(...)" stands for items 0..3, all alike.
                    int from = int.Parse(range.Groups["from"].Value, System.Globalization.CultureInfo.InvariantCulture);
                    int to = int.Parse(range.Groups["to"].Value, System.Globalization.CultureInfo.InvariantCulture);
                    int at = i;
                    for (int k = from; k <= to; k++)
                    {
                        int j = at;
                        children.Add(ParseModule(lines, ref j, k.ToString(System.Globalization.CultureInfo.InvariantCulture), repeat.Groups["rest"].Value, indent + 2));
                        i = j;
                    }
                }
                else
                {
                    children.Add(ParseModule(lines, ref i, childName, childRest, indent + 2));
                }
            }
            else
            {
                if (children.Count > 0)
                    throw new PrintFormatException($"line {i + 1}: expected '(name): Type(...)' or ')' but found '{Short(line)}'");
                extra.Add(body);
                i++;
            }
        }
        var node = new PrintedModule(name, type, string.Join("\n", extra));
        foreach (var c in children) node.Add(c);
        return node;
    }

    /// <summary>True when the parentheses of <c>"args)"</c> close exactly at the last character.</summary>
    private static bool ClosesAtEnd(string rest)
    {
        int depth = 1;
        char quote = '\0';
        for (int k = 0; k < rest.Length; k++)
        {
            var ch = rest[k];
            if (quote != '\0') { if (ch == quote) quote = '\0'; continue; }
            if (ch is '\'' or '"') { quote = ch; continue; }
            if (ch is '(' or '[' or '{') depth++;
            else if (ch is ')' or ']' or '}')
            {
                depth--;
                if (depth == 0) return k == rest.Length - 1;
            }
        }
        return false;
    }

    private static string Short(string s) => s.Trim().Length > 80 ? s.Trim()[..77] + "..." : s.Trim();
}
