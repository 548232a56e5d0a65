using TorchDoctor.Probes;
using System.Globalization;
using System.Text;
using System.Text.Json;
using TorchDoctor.Findings;
using TorchDoctor.Inspection;
using Module = TorchSharp.torch.nn.Module;

namespace TorchDoctor.Porting;

/// <summary>What to compare a port with. Give at least one of the three PyTorch sources.</summary>
public sealed record PortingOptions
{
    /// <summary>A file holding PyTorch's <c>print(model)</c> text.</summary>
    public string? PyTorchPrintPath { get; init; }
    /// <summary>PyTorch's <c>print(model)</c> text itself (instead of <see cref="PyTorchPrintPath"/>).</summary>
    public string? PyTorchPrintText { get; init; }
    /// <summary>A PyTorch <c>state_dict</c>: <c>torch.save</c> file or <c>.safetensors</c>.</summary>
    public string? CheckpointPath { get; init; }
    /// <summary>A reference file: <c>torch.save({"input": x, "output": y[, "layers": {...}]})</c> or safetensors.</summary>
    public string? ReferencePath { get; init; }
    /// <summary>Tolerance on the relative error (max |Δ| / max |expected|). Default 1e-5.</summary>
    public double Tolerance { get; init; } = 1e-5;
    /// <summary>Compare every layer's output (needs <c>layers</c> in the reference) and name the first divergent one.</summary>
    public bool PerLayer { get; init; }
    /// <summary>Copy the checkpoint's matching tensors into the model (default true; needed for the numeric check).</summary>
    public bool LoadWeights { get; init; } = true;
}

/// <summary>The result of a porting check: structure, parameters and numbers, with findings.</summary>
public sealed class PortingReport
{
    /// <summary>The port's name (model name or type).</summary>
    public required string ModelName { get; init; }
    /// <summary>The structural comparison, or null when no PyTorch text was given.</summary>
    public StructureComparison? Structure { get; init; }
    /// <summary>The state_dict comparison, or null when no checkpoint was given.</summary>
    public StateDictComparison? StateDict { get; init; }
    /// <summary>The numeric comparison, or null when no reference was given.</summary>
    public NumericComparison? Numbers { get; init; }
    /// <summary>Findings (TD4xxx).</summary>
    public required IReadOnlyList<Finding> Findings { get; init; }

    /// <summary>
    /// True when no structural difference changes the computation, the checkpoint's keys match the model's
    /// (nothing missing, unexpected or of another shape), and the outputs match within tolerance: what was
    /// given matches.
    /// </summary>
    public bool Matches => (Structure is null || !Structure.ChangesComputation)
        && (StateDict is null || (StateDict.Clean && StateDict.NonFinite.Count == 0))
        && (Numbers is null || Numbers.Matches);




}

/// <summary>
/// Proves a C# port matches its PyTorch original at three levels: the printed structure (against PyTorch's
/// <c>print(model)</c> text), the parameters (against a <c>state_dict</c> file, loading it when it fits) and the
/// numbers (against a reference input/output pair, per layer when the reference holds intermediate outputs).
/// </summary>
public static class PortingCheck
{
    /// <summary>Runs the checks <paramref name="options"/> asks for. Unreadable files throw <see cref="ModelFileException"/> or <see cref="PrintFormatException"/>.</summary>
    public static PortingReport Run(Module model, PortingOptions options, string? modelName = null)
    {
        ArgumentNullException.ThrowIfNull(model);
        ArgumentNullException.ThrowIfNull(options);
        if (options.PyTorchPrintPath is null && options.PyTorchPrintText is null && options.CheckpointPath is null && options.ReferencePath is null)
            throw new ArgumentException("Give at least one PyTorch source: printed text, a checkpoint or a reference.", nameof(options));
        Runtime.TorchRuntime.EnsureLoaded();
        var findings = new List<Finding>();

        StructureComparison? structure = null;
        var text = options.PyTorchPrintText;
        if (text is null && options.PyTorchPrintPath is { } printPath)
        {
            if (IO.InputFile.Problem(printPath, "a text file holding the output of print(model) in Python") is { } problem)
                throw new ModelFileException($"{printPath}: {problem}.");
            text = File.ReadAllText(printPath);
            if (text.Contains('\0', StringComparison.Ordinal))
                throw new ModelFileException($"{printPath}: holds binary bytes (NUL), not text; expected the output of print(model) in Python.");
        }
        if (text is not null)
        {
            PrintedModule expected;
            try { expected = PrintParser.Parse(text); }
            catch (PrintFormatException e) { throw new PrintFormatException((options.PyTorchPrintPath ?? "the PyTorch text") + ": " + e.Message); }
            structure = StructureDiff.Compare(expected, ModelPrinter.Describe(model));
            StructureFindings(structure, findings);
        }

        StateDictComparison? stateDict = null;
        if (options.CheckpointPath is { } ckptPath)
        {
            using var file = PyTorchFiles.ReadStateDict(ckptPath);
            stateDict = StateDictComparer.Compare(model, file, options.LoadWeights);
            StateDictFindings(stateDict, findings);
        }

        NumericComparison? numbers = null;
        if (options.ReferencePath is { } refPath)
        {
            using var reference = PyTorchFiles.ReadReference(refPath);
            // Port path → PyTorch path: from the structural match, else from the key mapping's module renames.
            IReadOnlyDictionary<string, string>? pathMap = structure?.PathMap;
            if (pathMap is null && stateDict?.SuggestedMapping is { } map)
            {
                var inverse = map.Rules.Select(r => new KeyRename(r.To, r.From)).ToList();
                pathMap = ModuleTree.Build(model).Nodes.Where(x => x.Depth > 0)
                    .ToDictionary(x => x.Path, x => inverse.Select(r => r.Apply(x.Path)).FirstOrDefault(p => p is not null) ?? x.Path);
            }
            string? note = stateDict is null && options.CheckpointPath is null
                ? "no PyTorch checkpoint was given, so the model's own weights were used (random for a freshly built model)."
                : null;
            numbers = NumericComparer.Compare(model, reference, options.Tolerance, options.PerLayer, pathMap, note);
            NumericFindings(numbers, structure, findings);
        }

        return new PortingReport
        {
            ModelName = modelName ?? ModuleNode.TypeNameOf(model),
            Structure = structure,
            StateDict = stateDict,
            Numbers = numbers,
            Findings = findings,
        };
    }

    private static Evidence Ev(params (string K, EvidenceValue V)[] kv)
    {
        var e = new Evidence();
        foreach (var (k, v) in kv) e.Add(k, v);
        return e;
    }

    private static void StructureFindings(StructureComparison s, List<Finding> findings)
    {
        foreach (var d in s.Differences.Where(d => d.ChangesComputation))
        {
            var code = d.Kind switch
            {
                StructureDifferenceKind.Missing => PortingCodes.ModuleMissing,
                StructureDifferenceKind.Extra => PortingCodes.ModuleExtra,
                StructureDifferenceKind.Type => PortingCodes.ModuleTypeDiffers,
                StructureDifferenceKind.Argument => PortingCodes.ArgumentDiffers,
                _ => PortingCodes.ChildrenOrderDiffers,
            };
            var message = d.Kind switch
            {
                StructureDifferenceKind.Missing => $"PyTorch's {d.Expected} has no counterpart in the port: {d.Explanation}.",
                StructureDifferenceKind.Extra => $"The port's {d.Actual} is not in PyTorch's model: {d.Explanation}.",
                StructureDifferenceKind.Type => $"PyTorch has a {d.Expected} here, the port a {d.Actual}: {d.Explanation}.",
                StructureDifferenceKind.Argument => $"PyTorch has {d.Expected}, the port {d.Actual}: {d.Explanation}.",
                _ => $"PyTorch [{d.Expected}], port [{d.Actual}]: {d.Explanation}.",
            };
            var advice = d.Kind switch
            {
                StructureDifferenceKind.Missing => $"Add {d.Expected} to the port (register it and call it in forward where PyTorch does).",
                StructureDifferenceKind.Extra => $"Remove {d.Actual} from the port, or check PyTorch's forward for it.",
                StructureDifferenceKind.Type => $"Use {d.Expected} as PyTorch does.",
                StructureDifferenceKind.Argument => $"Set {d.Expected} in the port's constructor call.",
                _ => "Register the children in PyTorch's order.",
            };
            findings.Add(Finding.Create(code, d.Path, message, advice, Ev(("expected", d.Expected ?? ""), ("actual", d.Actual ?? ""), ("kind", d.KindName))));
        }
        var harmless = s.Differences.Where(d => !d.ChangesComputation).ToList();
        if (harmless.Count > 0)
        {
            var kinds = harmless.GroupBy(d => d.KindName).Select(g => $"{g.Count()} {g.Key}");
            findings.Add(Finding.Create(PortingCodes.HarmlessDifferences, null,
                $"{harmless.Count} structural difference{(harmless.Count == 1 ? "" : "s")} that do not change the computation ({string.Join(", ", kinds)}).",
                "None needed; renamed modules need the suggested key mapping to load PyTorch's weights.",
                Ev(("count", EvidenceValue.Count(harmless.Count)), ("paths", string.Join(", ", harmless.Select(d => d.Path).Distinct().Take(20))))));
        }
        if (s.Unverified.Count > 0)
            findings.Add(Finding.Create(PortingCodes.Unverified, null,
                $"{s.Unverified.Count} argument{(s.Unverified.Count == 1 ? "" : "s")} in PyTorch's text could not be compared: {string.Join(", ", s.Unverified.Take(10))}.",
                "Check them by reading the port's constructor calls; the numeric check (--reference) covers what they compute.",
                Ev(("count", EvidenceValue.Count(s.Unverified.Count)))));
    }

    private static string Keys(IReadOnlyList<string> keys) => string.Join(", ", keys.Take(10)) + (keys.Count > 10 ? $", ... ({keys.Count} in all)" : "");

    private static void StateDictFindings(StateDictComparison c, List<Finding> findings)
    {
        var map = c.SuggestedMapping;
        string ruleText = map is null ? "" : string.Join(", ", map.Rules.Select(r => $"{(r.From.Length == 0 ? "(no prefix)" : r.From)} → {(r.To.Length == 0 ? "(no prefix)" : r.To)}"));
        if (c.MissingKeys.Count > 0)
            findings.Add(Finding.Create(PortingCodes.MissingKeys, null,
                $"{c.MissingKeys.Count} model key{(c.MissingKeys.Count == 1 ? " is" : "s are")} not in {Path.GetFileName(c.CheckpointPath)}: {Keys(c.MissingKeys)}.",
                map is null ? "Rename the port's modules to PyTorch's names, or the keys when loading." : $"Rename the keys with the suggested mapping ({ruleText}).",
                Ev(("count", EvidenceValue.Count(c.MissingKeys.Count)))));
        if (c.UnexpectedKeys.Count > 0)
        {
            var left = map is null ? c.UnexpectedKeys : c.UnexpectedAfterMapping;
            findings.Add(Finding.Create(PortingCodes.UnexpectedKeys, null,
                $"{c.UnexpectedKeys.Count} checkpoint key{(c.UnexpectedKeys.Count == 1 ? " is" : "s are")} not in the model: {Keys(c.UnexpectedKeys)}." +
                (map is not null && left.Count > 0 ? $" After the suggested mapping, {left.Count} still have no place in the model: {Keys(left)}." : ""),
                left.Count > 0 ? "The port lacks the modules that hold them (see the structural differences): add them." : $"Rename the keys with the suggested mapping ({ruleText}).",
                Ev(("count", EvidenceValue.Count(c.UnexpectedKeys.Count)))));
        }
        if (c.NonFinite.Count > 0)
            findings.Add(Finding.Create(PortingCodes.NonFiniteWeights, c.NonFinite[0].Key,
                $"{c.NonFinite.Count} tensor(s) of {Path.GetFileName(c.CheckpointPath)} hold NaN/Inf: " +
                string.Join(", ", c.NonFinite.Take(10).Select(kv => $"{kv.Key} ({kv.Value:N0} value(s))")) + (c.NonFinite.Count > 10 ? ", ..." : "") +
                ". A model loaded from it outputs NaN; the port cannot be checked against it.",
                "Save the checkpoint again from a healthy training step (the run diverged before it was saved: see docs/detectors.md on NaN origins), or take an earlier checkpoint.",
                Ev(("tensors", EvidenceValue.Count(c.NonFinite.Count)), ("first", c.NonFinite[0].Key),
                   ("values", EvidenceValue.Count(c.NonFinite.Sum(kv => kv.Value))))));
        foreach (var s in c.ShapeMismatches)
            findings.Add(Finding.Create(PortingCodes.ShapeMismatch, s.Key,
                $"{s.Key} is {StateDictComparison.Shape(s.Expected)} in the checkpoint but {StateDictComparison.Shape(s.Actual)} in the model.",
                "Fix the layer's sizes (in/out features or channels, kernel_size, groups) to PyTorch's.",
                Ev(("expected", StateDictComparison.Shape(s.Expected)), ("actual", StateDictComparison.Shape(s.Actual)))));
        foreach (var d in c.DTypeMismatches.Take(20))
            findings.Add(Finding.Create(PortingCodes.DTypeMismatch, d.Key,
                $"{d.Key} is {d.Expected} in the checkpoint and {d.Actual} in the model; loading converts it.",
                "Nothing if intended; otherwise build the model with the checkpoint's dtype (model.to(dtype)).",
                Ev(("expected", d.Expected.ToString()), ("actual", d.Actual.ToString()))));
        if (map is not null)
            findings.Add(Finding.Create(PortingCodes.KeyMapping, null,
                $"{map.Pairs.Count} checkpoint key{(map.Pairs.Count == 1 ? "" : "s")} map onto missing model keys of the same shapes: {ruleText}.",
                map.Code(c.CheckpointPath, c.Format == "safetensors"),
                Ev(("rules", ruleText), ("keys", EvidenceValue.Count(map.Pairs.Count)))));
        if (c.LoadedCount > 0)
            findings.Add(Finding.Create(PortingCodes.WeightsLoaded, null,
                c.LoadedStrict
                    ? $"Loaded all {c.LoadedCount} tensors of {Path.GetFileName(c.CheckpointPath)} into the model{(map is null ? "" : " with the suggested mapping")}."
                    : $"Loaded {c.LoadedCount} of the model's {c.ModelCount} tensors (those that match by name and shape{(map is null ? "" : " after the mapping")}); a strict load would fail.",
                c.LoadedStrict ? "None." : "Fix the keys and shapes above for a strict load.",
                Ev(("loaded", EvidenceValue.Count(c.LoadedCount)), ("model", EvidenceValue.Count(c.ModelCount)), ("strict", c.LoadedStrict ? "true" : "false"))));
    }

    private static void NumericFindings(NumericComparison n, StructureComparison? s, List<Finding> findings)
    {
        if (!n.Matches)
        {
            var msg = n.NonFiniteText() is { } nf && n.ExpectedShape.SequenceEqual(n.ActualShape) ? "The output cannot match PyTorch's: " + nf
                : n.ExpectedShape.SequenceEqual(n.ActualShape)
                ? $"The output differs from PyTorch's: max abs error {NumericComparison.Num(n.MaxAbsError)}, max rel error {NumericComparison.Num(n.MaxRelError)} > tolerance {NumericComparison.Num(n.Tolerance)}."
                : $"The output shape {StateDictComparison.Shape(n.ActualShape)} differs from PyTorch's {StateDictComparison.Shape(n.ExpectedShape)}.";
            findings.Add(Finding.Create(PortingCodes.OutputMismatch, null, msg,
                n.HadLayers ? "See the first divergent layer." : "Save the intermediate outputs in Python (\"layers\") and run with --per-layer to find the first layer that diverges.",
                Ev(("maxAbsError", NumericComparison.Num(n.MaxAbsError)), ("maxRelError", NumericComparison.Num(n.MaxRelError)), ("tolerance", NumericComparison.Num(n.Tolerance)))));
        }
        if (n.FirstDivergent is { } d)
        {
            var related = s?.Differences.Where(x => x.ChangesComputation && (x.Path == d.ReferenceName || x.Path.StartsWith(d.ReferenceName + ".", StringComparison.Ordinal))).ToList() ?? [];
            var msg = d.Expected.SequenceEqual(d.Actual)
                ? $"{d.Path} ({d.Type}) is the first layer whose output differs from PyTorch's{(d.ReferenceName != d.Path ? $" (its {d.ReferenceName})" : "")}: max rel error {NumericComparison.Num(d.MaxRelError)}."
                : $"{d.Path} ({d.Type}) is the first layer whose output differs from PyTorch's{(d.ReferenceName != d.Path ? $" (its {d.ReferenceName})" : "")}: shape {StateDictComparison.Shape(d.Actual)} instead of {StateDictComparison.Shape(d.Expected)}.";
            if (related.Count > 0) msg += " Structural difference there: " + string.Join("; ", related.Select(x => $"{x.KindName} {x.Expected} vs {x.Actual}")) + ".";
            findings.Add(Finding.Create(PortingCodes.FirstDivergentLayer, d.Path, msg, "Usual causes at this kind of layer: " + n.Hint + ".",
                Ev(("reference", d.ReferenceName), ("maxRelError", NumericComparison.Num(d.MaxRelError)),
                   ("expectedShape", StateDictComparison.Shape(d.Expected)), ("actualShape", StateDictComparison.Shape(d.Actual)))));
        }
    }
}
