using TorchDoctor.Findings;
using System.Globalization;
using System.Text.RegularExpressions;
using TorchDoctor.Probes;

namespace TorchDoctor.Inspection;

/// <summary>
/// Turns a failed forward pass into an explanation: the innermost module that was running (found by
/// the pre/post hooks still open when the error surfaced), its configuration, what it received, what
/// ran before it, the rule that broke and a concrete fix.
/// </summary>
public static partial class ShapeExplainer
{
    /// <summary>Explains <paramref name="error"/> thrown during a pass recorded by <paramref name="recorder"/>.</summary>
    public static ForwardFailure Explain(Exception error, CallRecorder recorder)
    {
        ArgumentNullException.ThrowIfNull(error);
        ArgumentNullException.ThrowIfNull(recorder);
        // libtorch's errors carry the message; a bug in C# forward code is named by its type.
        var native = error is System.Runtime.InteropServices.ExternalException ? FirstLine(error.Message) : $"{error.GetType().Name}: {FirstLine(error.Message)}";
        var open = recorder.OpenCalls;
        var failing = open.Count > 0 ? open[^1] : null;
        var node = failing?.Node;
        // Every completed call finished before the failure; the open ones are the failing call and its callers.
        var previous = recorder.Calls
            .Where(c => c.Completed)
            .TakeLast(4)
            .Select(c => (c.Node.DisplayPath, c.Node.TypeName, c.Outputs.FirstOrDefault()?.Shape))
            .ToList();
        var modelInput = recorder.Calls.FirstOrDefault(c => c.Node.Depth == 0)?.Inputs.FirstOrDefault()?.Shape
            ?? recorder.Calls.FirstOrDefault()?.Inputs.FirstOrDefault()?.Shape;
        var ctx = new Context(native, node, failing, previous) { ModelInput = modelInput };
        var (kind, rule, fix, caution) = Match(ctx);
        return new ForwardFailure
        {
            Module = node?.DisplayPath ?? ModuleNames.Root,
            ModuleType = node?.TypeName ?? "?",
            Configuration = node?.Configuration() ?? [],
            InputShapes = failing?.Inputs.Select(i => i.Shape).ToList() ?? [],
            InputDTypes = failing?.Inputs.Select(i => i.DType.ToString()).ToList() ?? [],
            Previous = previous,
            Rule = rule,
            Fix = fix,
            Caution = caution,
            NativeMessage = native,
            Kind = kind,
        };
    }

    private sealed record Context(string Message, ModuleNode? Node, ModuleCall? Call,
        List<(string Path, string Type, long[]? OutputShape)> Previous)
    {
        public string Where => Node is null ? "the model" : $"{Node.DisplayPath} ({Node.TypeName})";
        public string? Config(string name) => Node?.Configuration().FirstOrDefault(c => c.Name == name).Value;
        public long[]? Input => Call?.Inputs.FirstOrDefault()?.Shape;
        public string InputText => Input is null ? "?" : TensorInfo.FormatShape(Input);
        public long[]? ModelInput { get; init; }
    }

    /// <summary>The first line of libtorch's message, without its C++ trace.</summary>
    internal static string FirstLine(string message)
    {
        var m = message;
        var cut = m.IndexOf("Exception raised from", StringComparison.Ordinal);
        if (cut >= 0) m = m[..cut];
        var lines = m.Split('\n', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries);
        var line = lines.FirstOrDefault() ?? m;
        // TorchScript puts its real error last, after "The following operation failed..." and a serialized traceback.
        if (line.StartsWith("The following operation failed in the TorchScript interpreter", StringComparison.Ordinal))
        {
            var real = lines.LastOrDefault(l => System.Text.RegularExpressions.Regex.IsMatch(l, @"^[\w.]*(Error|Exception)\b.*?: "));
            if (real is not null)
                return real.StartsWith("RuntimeError: ", StringComparison.Ordinal) ? real["RuntimeError: ".Length..].Trim()
                    : "the script raised " + real.Trim();
        }
        return line.Trim();
    }

    private const string ReshapeCaution =
        "Do not reshape/view a tensor into the \"right\" shape to silence this: reshape keeps the memory order, so it scrambles elements across dimensions instead of moving them.";

    private static (string Kind, string Rule, string Fix, string? Caution) Match(Context c)
    {
        var msg = c.Message;
        Match m;
        if ((m = MatMulRx().Match(msg)).Success)
        {
            long r1 = L(m, 1), k1 = L(m, 2), k2 = L(m, 3), n2 = L(m, 4);
            var inF = c.Config("in_features");
            var outF = c.Config("out_features");
            if (inF is not null && c.Input is { Length: >= 3 } unflat && long.TryParse(inF, out var inFeatures)
                && unflat.Skip(1).Aggregate(1L, (a, b) => a * b) == inFeatures)
            {
                // [64, 1, 28, 28] into Linear(784, ...): the sizes agree once the sample is flattened.
                var per = string.Join("×", unflat.Skip(1));
                return ("linear-flatten", $"{c.Where} has in_features={inF} and received {c.InputText}: each sample is {per} = {inF} values, but not flattened, so Linear sees a last dimension of {k1}.",
                    $"flatten each sample before {c.Node?.DisplayPath ?? "the layer"}: `x.flatten(1)` (or an `nn.Flatten()` module) gives [{unflat[0]}, {inF}]; in_features={inF} is already right.", ReshapeCaution);
            }
            if (inF is not null)
            {
                var rule = $"{c.Where} has in_features={inF}: the last dimension of its input must be {inF}, but it received {c.InputText} (last dimension {k1}).";
                var fix = $"set in_features={k1}: `Linear({k1}, {outF})`" + FlattenNote(c, k1) + ".";
                return ("linear-in-features", rule, fix, ReshapeCaution);
            }
            string tfix = k1 == n2
                ? $"transpose the second operand ({k2}x{n2} → {n2}x{k2}): `b.t()` or `b.transpose(-2, -1)`"
                : r1 == k2
                    ? $"transpose the first operand ({r1}x{k1} → {k1}x{r1}): `a.t()` or `a.transpose(-2, -1)`"
                    : $"make the inner sizes agree: the first operand's last dimension ({k1}) must equal the second operand's first dimension ({k2})";
            return ("matmul", $"A matrix product in {c.Where} needs the columns of mat1 ({r1}x{k1}) to equal the rows of mat2 ({k2}x{n2}).", tfix + ".", ReshapeCaution);
        }
        if ((m = ConvChannelsRx().Match(msg)).Success)
            return ConvChannels(c, ParseList(m.Groups["input"].Value), L(m, "exp"), 1);
        if ((m = TsConvRx().Match(msg)).Success && c.Input is { } convIn)
        {
            // TorchSharp's own check: "Expected 3D (unbatched) or 4D (batched) input with C channels to Conv2d."
            long unb = L(m, 1), bat = L(m, 2), ch = L(m, 3);
            if (convIn.Length == bat) return ConvChannels(c, convIn, ch, 1);
            if (convIn.Length == unb) return ConvChannels(c, convIn, ch, 0);
            return Rank(c, unb, bat, m.Groups[4].Value, convIn);
        }
        if ((m = RankRx().Match(msg)).Success)
            return Rank(c, L(m, 1), L(m, 2), m.Groups[3].Value, ParseList(m.Groups[4].Value));
        if ((m = BnRankRx().Match(msg)).Success)
        {
            var gotRank = L(m, "got");
            var want = m.Groups["want"].Value;
            return ("rank", $"{c.Where} expects {want} input but received {c.InputText} ({gotRank}-D).",
                gotRank < 3 || (c.Node?.TypeName.EndsWith("2d", StringComparison.Ordinal) ?? false)
                    ? "add the missing batch dimension: `x.unsqueeze(0)`, or use the norm layer that matches the data (BatchNorm1d for [N, C] or [N, C, L], BatchNorm2d for [N, C, H, W])."
                    : "use the norm layer that matches the data rank (BatchNorm1d for [N, C] or [N, C, L], BatchNorm2d for [N, C, H, W], BatchNorm3d for 5-D).", null);
        }
        if ((m = TsNormRankRx().Match(msg)).Success && L(m, "got") < L(m, "want"))
        {
            // TorchSharp's BatchNorm check. A conv before it accepted an unbatched sample: the batch is missing at the model's input.
            long want = L(m, "want"), got = L(m, "got");
            var mi = c.ModelInput;
            bool missingBatch = mi is not null && mi.Length == got;
            return ("missing-batch", missingBatch
                    ? $"{c.Where} expects {want}-D input [N, C, ...] but received {c.InputText} ({got}-D): the model's input {TensorInfo.FormatShape(mi!)} has no batch dimension. The layers before it accept a single unbatched sample; {c.Node?.TypeName ?? "this layer"} does not."
                    : $"{c.Where} expects {want}-D input but received {c.InputText} ({got}-D).",
                missingBatch
                    ? $"add the batch dimension: `x.unsqueeze(0)` gives {TensorInfo.FormatShape(new[] { 1L }.Concat(mi!))} (from the CLI: --input {string.Join(",", new[] { 1L }.Concat(mi!))})."
                    : "add the missing batch dimension (`x.unsqueeze(0)`), or use the norm layer that matches the data (BatchNorm1d for [N, C] or [N, C, L], BatchNorm2d for [N, C, H, W]).", null);
        }
        if (ScriptRaised(msg, c) is { } raised)
            return ("script-raised", $"The TorchScript code of {c.Where} raised an exception: {raised}.",
                $"the script raised \"{raised}\": read the check that raised it (the forward in the file's code/ folder) and give an input that satisfies it; the input was {c.InputText}.", null);
        if (msg.StartsWith("ArgumentOutOfRangeException", StringComparison.Ordinal) && c.Node is { Depth: 0 } && c.Node.Module is TorchSharp.torch.jit.ScriptModule)
            return ("script-output", $"TorchSharp could not convert what {c.Where}'s forward returned: TorchSharp 0.107 turns tensors, tuples and lists of tensors into .NET values, not dicts or other objects.",
                "summarise a script whose forward returns a tensor (or a tuple/list of tensors): wrap the model in Python so forward returns out[\"key\"], and script that.", null);
        if ((m = ArgCountRx().Match(msg)).Success)
        {
            // TorchScript counts self: "at most 2 argument(s)" is one input.
            long takes = L(m, "n") - 1, given = L(m, "got") - 1;
            return ("input-count", $"{c.Where}'s forward takes {(m.Groups["kind"].Value == "most" ? "at most" : "at least")} {takes} input(s), but {given} were given ({m.Groups["decl"].Value.Trim()}).",
                $"give one input per forward argument: {takes} --input shape(s) from the CLI, or call the model with {takes} tensor(s).", null);
        }
        if ((m = BroadcastRx().Match(msg)).Success)
        {
            long a = L(m, 1), b = L(m, 2), dim = L(m, 3);
            var shapes = string.Join(", ", c.Previous.Where(p => p.OutputShape is not null).Select(p => $"{p.Path} → {TensorInfo.FormatShape(p.OutputShape!)}"));
            return ("broadcast", $"An element-wise operation in {c.Where} combines tensors whose dimension {dim} differ ({a} vs {b}) and neither is 1. Last outputs: {shapes}.",
                "make both operands the same size in that dimension: in a residual block the shortcut needs a projection (`Conv2d(in, out, 1, stride)` + BatchNorm) when the channels or the resolution change; otherwise check which branch changed the size.", ReshapeCaution);
        }
        if ((m = ViewRx().Match(msg)).Success)
        {
            var target = m.Groups[1].Value;
            long size = L(m, 2);
            var src = c.Previous.LastOrDefault(p => p.OutputShape is { Length: >= 2 } s && s.Aggregate(1L, (x, y) => x * y) == size);
            string fix;
            if (src.OutputShape is { } s)
            {
                long per = size / s[0];
                fix = $"the tensor is {TensorInfo.FormatShape(s)} (from {src.Path}), {s[0]} samples of {string.Join("×", s.Skip(1))} = {per} values each: use `x.flatten(1)` or `x.view(x.shape[0], -1)` (gives [{s[0]}, {per}]) and set the next Linear's in_features={per}.";
            }
            else fix = $"compute the target shape from the tensor's real size ({size} elements): keep the batch dimension and use -1 for the rest, `x.view(x.shape[0], -1)`.";
            return ("view-size", $"A view/reshape in {c.Where} asks for shape [{target}], which cannot hold the {size} elements it was given.", fix, ReshapeCaution);
        }
        if ((m = RnnInputRx().Match(msg)).Success)
            return ("rnn-input-size", $"{c.Where} has input_size={L(m, 1)}, but the last dimension of its input {c.InputText} is {L(m, 2)}.",
                $"set input_size={L(m, 2)}, or make the layer before it (e.g. Embedding's embedding_dim) produce {L(m, 1)} features.", null);
        if (EmbeddingIndexRx().IsMatch(msg))
        {
            var num = c.Config("num_embeddings");
            return ("embedding-index", $"{c.Where} has num_embeddings={num ?? "?"}: every index must be in [0, {(num is null ? "n" : num)}), but the input holds a larger (or negative) one.",
                $"make num_embeddings larger than the largest index (vocabulary size + special tokens), or fix the indices (e.g. labels starting at 1 instead of 0).", null);
        }
        if ((m = IndexDtypeRx().Match(msg)).Success)
            return ("dtype", $"{c.Where} needs integer (int64) indices but received {m.Groups[1].Value} values {c.InputText}.",
                "pass class/token indices as int64: `x = x.to(torch.int64)` (from the CLI: --dtype long).", null);
        if ((m = DtypeRx().Match(msg)).Success)
        {
            var dtypes = c.Call?.Inputs.Select(i => i.DType.ToString()).Distinct().ToList() ?? [];
            var isByte = msg.Contains("unsigned char", StringComparison.Ordinal) || msg.Contains("Byte", StringComparison.Ordinal) || dtypes.Contains("Byte");
            return ("dtype", $"{c.Where} mixes element types: {m.Value}.",
                isByte
                    ? "convert images to float and scale them: `x = x.to(torch.float32).div(255)` (uint8 pixels cannot feed float weights)."
                    : "convert the input to the model's dtype: `x = x.to(torch.float32)` (or move the model with `model.to(torch.float64)`).", null);
        }
        if ((m = BatchRx().Match(msg)).Success)
            return ("batch-size", $"The loss in {c.Where} got {L(m, 1)} predictions for {L(m, 2)} targets.",
                "a view/reshape before it probably merged the batch with feature dimensions: flatten with `x.flatten(1)` / `x.view(x.shape[0], -1)` instead of `x.view(-1, k)`.", ReshapeCaution);
        return ("unknown", $"The forward pass failed in {c.Where}: {msg}",
            $"Look at the inputs {c.Where} received ({c.InputText}) and its configuration; the modules that ran before it are listed with their output shapes.", null);
    }

    /// <summary>The exception a TorchScript forward raised itself (e.g. "ValueError: ..."), or null.</summary>
    private static string? ScriptRaised(string msg, Context c)
    {
        if (msg.StartsWith("the script raised ", StringComparison.Ordinal)) return msg["the script raised ".Length..];
        if (c.Node?.Module is not TorchSharp.torch.jit.ScriptModule) return null;
        var m = Regex.Match(msg, @"^(?:builtins\.)?(?<type>[A-Z]\w*(?:Error|Exception)): ");
        if (!m.Success || m.Groups["type"].Value is "RuntimeError" or "ArgumentException" or "ArgumentOutOfRangeException" or "InvalidCastException" or "ExternalException") return null;
        return msg;
    }

    private static (string, string, string, string?) ConvChannels(Context c, long[] input, long expected, int channelDim)
    {
        long got = input[channelDim];
        if (input.Length >= 3 && input[^1] == expected && got != expected)
        {
            var perm = input.Length == 4 ? "x.permute(0, 3, 1, 2)" : input.Length == 3 ? "x.permute(2, 0, 1)" : "x.movedim(-1, 1)";
            return ("channels-last", $"{c.Where} expects channels first ({(channelDim == 1 ? "N, " : "")}C, H, W) with C={expected}, but received {TensorInfo.FormatShape(input)}: the channels ({expected}) are last, as images load (H, W, C).",
                $"move the channel dimension: `{perm}` (or convert HWC→CHW when loading the images).", ReshapeCaution);
        }
        var prev = c.Previous.LastOrDefault(p => p.OutputShape is { Length: >= 2 });
        var prevNote = prev.OutputShape is null ? "" : $" (the module before it, {prev.Path} ({prev.Type}), outputs {TensorInfo.FormatShape(prev.OutputShape)})";
        return ("conv-in-channels", $"{c.Where} has in_channels={expected}, but its input {TensorInfo.FormatShape(input)} has {got} channels in dimension {channelDim}{prevNote}.",
            $"set in_channels={got} on {c.Node?.DisplayPath ?? "this layer"}, or make the layer before it output {expected} channels.", null);
    }

    private static (string, string, string, string?) Rank(Context c, long unb, long bat, string op, long[] got)
    {
        var where = c.Node is not null && string.Equals(c.Node.TypeName, op, StringComparison.OrdinalIgnoreCase) ? c.Where : $"{c.Where} ({op})";
        if (got.Length < unb)
        {
            int missing = (int)(bat - got.Length);
            var fix = missing == 1
                ? "add the batch dimension: `x.unsqueeze(0)` (a single sample needs shape " + TensorInfo.FormatShape(new[] { 1L }.Concat(got)) + ")"
                : $"add the {missing} missing leading dimensions (batch and channel): `x.unsqueeze(0).unsqueeze(0)` gives " + TensorInfo.FormatShape(Enumerable.Repeat(1L, missing).Concat(got));
            return ("rank", $"{where} takes {unb}-D (unbatched) or {bat}-D (batched) input, but received {TensorInfo.FormatShape(got)} ({got.Length}-D).", fix + ".", null);
        }
        return ("rank", $"{where} takes {unb}-D or {bat}-D input, but received {TensorInfo.FormatShape(got)} ({got.Length}-D).",
            $"remove the extra dimension(s): `x.squeeze(0)` if it has size 1, or merge them into the batch with `x.flatten(0, {got.Length - bat})`.", ReshapeCaution);
    }

    private static string FlattenNote(Context c, long k)
    {
        // When the features come from conv/pool outputs, show how the flat size is made.
        foreach (var p in Enumerable.Reverse(c.Previous))
        {
            if (p.OutputShape is { Length: >= 3 } s && s.Skip(1).Aggregate(1L, (a, b) => a * b) == k)
                return $" (the flattened output of {p.Path} ({p.Type}) {TensorInfo.FormatShape(s)}: {string.Join("×", s.Skip(1))} = {k})";
        }
        return "";
    }

    private static long L(Match m, int g) => long.Parse(m.Groups[g].Value, CultureInfo.InvariantCulture);
    private static long L(Match m, string g) => long.Parse(m.Groups[g].Value, CultureInfo.InvariantCulture);
    private static long[] ParseList(string s) => s.Split(',', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries)
        .Select(x => long.Parse(x, CultureInfo.InvariantCulture)).ToArray();

    [GeneratedRegex(@"mat1 and mat2 shapes cannot be multiplied \((\d+)x(\d+) and (\d+)x(\d+)\)")]
    private static partial Regex MatMulRx();
    [GeneratedRegex(@"weight of size \[[\d, ]+\], expected input\[(?<input>[\d, ]+)\] to have (?<exp>\d+) channels, but got (?<got>\d+) channels")]
    private static partial Regex ConvChannelsRx();
    [GeneratedRegex(@"Expected (\d+)D \(unbatched\) or (\d+)D \(batched\) input with (\d+) channels to (\w+)")]
    private static partial Regex TsConvRx();
    [GeneratedRegex(@"Expected (\d+)D \(unbatched\) or (\d+)D \(batched\) input to (\w+), but got input of size: \[([\d, ]*)\]")]
    private static partial Regex RankRx();
    [GeneratedRegex(@"expected (?<want>\d+D(?: or \d+D)?) input \(got (?<got>\d+)D input\)")]
    private static partial Regex BnRankRx();
    [GeneratedRegex(@"expected (?<want>\d+)D input, but got (?<got>\d+)D input")]
    private static partial Regex TsNormRankRx();
    [GeneratedRegex(@"Expected at (?<kind>most|least) (?<n>\d+) argument\(s\) for operator 'forward', but received (?<got>\d+) argument\(s\)\.(?: Declaration: (?<decl>.*))?")]
    private static partial Regex ArgCountRx();
    [GeneratedRegex(@"The size of tensor a \((\d+)\) must match the size of tensor b \((\d+)\) at non-singleton dimension (\d+)")]
    private static partial Regex BroadcastRx();
    [GeneratedRegex(@"shape '\[([-\d, ]*)\]' is invalid for input of size (\d+)")]
    private static partial Regex ViewRx();
    [GeneratedRegex(@"input\.size\(-1\) must be equal to input_size\. Expected (\d+), got (\d+)")]
    private static partial Regex RnnInputRx();
    [GeneratedRegex(@"index out of range in self")]
    private static partial Regex EmbeddingIndexRx();
    [GeneratedRegex(@"'indices' to have one of the following scalar types: Long, Int; but got (\S+)")]
    private static partial Regex IndexDtypeRx();
    [GeneratedRegex(@"(expected (?:m1 and m2 to have the same dtype|scalar type \w+ but found \w+)[^.]*|mat1 and mat2 must have the same dtype[^.]*|Input type \([^)]*\) and (?:bias|weight) type \([^)]*\) should be the same)")]
    private static partial Regex DtypeRx();
    [GeneratedRegex(@"Expected input batch_size \((\d+)\) to match target batch_size \((\d+)\)")]
    private static partial Regex BatchRx();
}
