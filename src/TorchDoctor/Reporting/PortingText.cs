using TorchDoctor.Findings;
using System.Text;
using TorchDoctor.Porting;

namespace TorchDoctor.Reporting;

/// <summary>Text of the porting check for people: the structure diff, the state_dict account, the numbers, the result.</summary>
public static class PortingText
{
    /// <summary>The whole report as text (what <c>torchdoctor compare</c> prints).</summary>
    public static string Render(PortingReport r)
    {
        var sb = new StringBuilder();
        sb.AppendLine($"Porting check: {r.ModelName} (C#) against its PyTorch original");
        if (r.Structure is not null) sb.Append(Structure(r.Structure));
        if (r.StateDict is not null) sb.Append(StateDict(r.StateDict));
        if (r.Numbers is not null) sb.Append(Numbers(r.Numbers));
        sb.AppendLine(r.Matches ? "Result: the port matches." : "Result: the port differs (see above).");
        return sb.ToString();
    }

    /// <summary>A readable tree diff: the PyTorch model's tree, cut down to the branches with differences.</summary>
    public static string Structure(StructureComparison c)
    {
        var sb = new StringBuilder();
        int changing = c.Differences.Count(d => d.ChangesComputation);
        if (c.Differences.Count == 0)
            sb.AppendLine($"Structure: the same as PyTorch's print ({c.Expected.SelfAndDescendants().Count()} modules).");
        else
            sb.AppendLine($"Structure: {c.Differences.Count} difference{(c.Differences.Count == 1 ? "" : "s")} from PyTorch's print, " +
                          (changing == 0 ? "none changes the computation." : $"{changing} change{(changing == 1 ? "s" : "")} the computation."));
        if (c.Differences.Count > 0)
        {
            sb.AppendLine("  " + c.Expected.TypeName);
            var printed = new List<string>();
            var explained = new HashSet<string>(StringComparer.Ordinal);
            foreach (var d in c.Differences)
            {
                var segments = d.Path == ModuleNames.Root ? [] : d.Path.Split('.').ToList();
                var parents = d.Kind == StructureDifferenceKind.Order ? segments : segments.Take(Math.Max(0, segments.Count - 1)).ToList();
                int common = 0;
                while (common < printed.Count && common < parents.Count && printed[common] == parents[common]) common++;
                for (int k = common; k < parents.Count; k++)
                {
                    var node = c.Expected.Find(string.Join(".", parents.Take(k + 1)));
                    sb.Append(' ', 4 + 2 * k).Append(parents[k]);
                    if (node is not null) sb.Append(" (").Append(node.TypeName).Append(')');
                    sb.AppendLine();
                }
                printed = parents;
                var name = d.Kind == StructureDifferenceKind.Order ? "" : segments.Count > 0 ? segments[^1] : ModuleNames.Root;
                sb.Append(' ', 4 + 2 * parents.Count).Append(Line(d, name, explained.Add(d.Explanation))).AppendLine();
            }
        }
        if (c.Unverified.Count > 0)
            sb.AppendLine("  Not compared (TorchSharp does not expose them): " + string.Join(", ", c.Unverified));
        return sb.ToString();
    }


    private static string Line(StructureDifference d, string name, bool explain)
    {
        var mark = d.Kind switch
        {
            StructureDifferenceKind.Missing => "- ",
            StructureDifferenceKind.Extra => "+ ",
            StructureDifferenceKind.Order => "^ ",
            _ => "~ ",
        };
        var what = d.Kind switch
        {
            StructureDifferenceKind.Missing => $"{name}: missing in the port: {d.Expected}",
            StructureDifferenceKind.Extra => $"{name}: only in the port: {d.Actual}",
            StructureDifferenceKind.Type => $"{name}: type {d.Expected} in PyTorch, {d.Actual} in the port",
            StructureDifferenceKind.Argument => $"{name}: {d.Expected} in PyTorch, {d.Actual} in the port",
            StructureDifferenceKind.Order => $"children in another order: PyTorch [{d.Expected}], port [{d.Actual}]",
            StructureDifferenceKind.Renamed => $"{name}: renamed {d.Expected} → {d.Actual}",
            StructureDifferenceKind.Split => $"{name}: split {d.Expected} → {d.Actual}",
            _ => name,
        };
        return mark + what + (d.ChangesComputation ? "  [changes the computation]" : "  [same computation]") + (explain ? ": " + d.Explanation : " (as above)");
    }

    /// <summary>A readable account.</summary>
    public static string StateDict(StateDictComparison c)
    {
        var sb = new StringBuilder();
        var file = System.IO.Path.GetFileName(c.CheckpointPath);
        if (c.Clean)
            sb.AppendLine($"Parameters: all {c.ModelCount} state_dict keys of the model match {file} ({c.Format}, {c.CheckpointCount} tensors) in name and shape" +
                (c.ToleratedMissingKeys.Count > 0 ? $" ({c.ToleratedMissingKeys.Count} num_batches_tracked missing, tolerated as PyTorch does)" : "") + ".");
        else
            sb.AppendLine($"Parameters: {file} ({c.Format}, {c.CheckpointCount} tensors) vs the model's state_dict ({c.ModelCount}): " +
                $"{c.MissingKeys.Count} missing, {c.UnexpectedKeys.Count} unexpected, {c.ShapeMismatches.Count} of another shape.");
        if (c.ReaderNote is not null) sb.AppendLine("  Note: " + c.ReaderNote + ".");
        if (c.NonFinite.Count > 0)
            sb.AppendLine($"  Non-finite weights: {c.NonFinite.Count} tensor(s) of the checkpoint hold NaN/Inf: " +
                string.Join(", ", c.NonFinite.Take(12).Select(kv => $"{kv.Key} ({kv.Value:N0})")) + (c.NonFinite.Count > 12 ? ", ..." : "") + ".");
        void List(string title, IReadOnlyList<string> keys)
        {
            if (keys.Count == 0) return;
            sb.AppendLine($"  {title} ({keys.Count}): {string.Join(", ", keys.Take(12))}{(keys.Count > 12 ? ", ..." : "")}");
        }
        List("Missing in the checkpoint", c.MissingKeys);
        List("Unexpected (not in the model)", c.UnexpectedKeys);
        foreach (var s in c.ShapeMismatches.Take(12))
            sb.AppendLine($"  Shape: {s.Key}: checkpoint {StateDictComparison.Shape(s.Expected)}, model {StateDictComparison.Shape(s.Actual)}");
        foreach (var d in c.DTypeMismatches.Take(12))
            sb.AppendLine($"  Dtype: {d.Key}: checkpoint {d.Expected}, model {d.Actual} (converted on load, as PyTorch does)");
        if (c.SuggestedMapping is { } map)
        {
            sb.AppendLine($"  Suggested mapping ({map.Pairs.Count} keys, same shapes in the same order): " +
                string.Join(", ", map.Rules.Select(r => $"{Show(r.From)} → {Show(r.To)}")));
            List("  Still missing after it", c.MissingAfterMapping);
            List("  Still unexpected after it", c.UnexpectedAfterMapping);
            sb.AppendLine("  Code to apply it:");
            foreach (var line in map.Code(c.CheckpointPath, c.Format == "safetensors").TrimEnd().Split('\n')) sb.AppendLine("    " + line);
        }
        if (c.LoadedCount > 0)
            sb.AppendLine(c.LoadedStrict
                ? $"  Loaded all {c.LoadedCount} tensors into the model{(c.SuggestedMapping is null ? "" : " (with the mapping)")}."
                : $"  Loaded the {c.LoadedCount} of {c.ModelCount} model tensors that match by name and shape{(c.SuggestedMapping is null ? "" : " (with the mapping)")}; a strict load would fail.");
        return sb.ToString();
    }


    private static string Show(string prefix) => prefix.Length == 0 ? "(no prefix)" : prefix;

    /// <summary>A readable account.</summary>
    public static string Numbers(NumericComparison c)
    {
        var sb = new StringBuilder();
        var file = System.IO.Path.GetFileName(c.ReferencePath);
        var input = string.Join(", ", c.InputShapes.Select(StateDictComparison.Shape));
        if (!c.ExpectedShape.SequenceEqual(c.ActualShape))
            sb.AppendLine($"Numbers ({file}, input {input}): the output shape differs: PyTorch {StateDictComparison.Shape(c.ExpectedShape)}, the port {StateDictComparison.Shape(c.ActualShape)}.");
        else if (c.NonFiniteText() is { } nf)
            sb.AppendLine($"Numbers ({file}, input {input}, eval mode): the outputs differ: {nf}");
        else
            sb.AppendLine($"Numbers ({file}, input {input}, eval mode): max abs error {NumericComparison.Num(c.MaxAbsError)}, max rel error {NumericComparison.Num(c.MaxRelError)} " +
                $"(tolerance {NumericComparison.Num(c.Tolerance)}): {(c.Matches ? "the outputs match" : "the outputs differ")}.");
        if (c.Note is not null) sb.AppendLine("  Note: " + c.Note);
        if (c.HadLayers)
        {
            if (c.FirstDivergent is { } d)
            {
                sb.Append($"  First divergent layer: {d.Path} ({d.Type})");
                if (d.ReferenceName != d.Path) sb.Append($" = PyTorch's {d.ReferenceName}");
                sb.AppendLine(d.Expected.SequenceEqual(d.Actual)
                    ? $": max rel error {NumericComparison.Num(d.MaxRelError)} (max abs {NumericComparison.Num(d.MaxAbsError)})."
                    : $": output shape {StateDictComparison.Shape(d.Actual)}, PyTorch's {StateDictComparison.Shape(d.Expected)}.");
                var before = c.Layers.TakeWhile(l => !ReferenceEquals(l, d)).LastOrDefault();
                if (before is not null) sb.AppendLine($"  The layer before it matches: {before.Path} ({before.Type}), max rel error {NumericComparison.Num(before.MaxRelError)}.");
                if (c.Hint is not null) sb.AppendLine("  Usual causes: " + c.Hint);
            }
            else if (c.Layers.Count > 0)
                sb.AppendLine($"  All {c.Layers.Count} compared layer outputs are within tolerance.");
        }
        return sb.ToString();
    }
}
