using System.Globalization;
using System.Text;
using System.Text.Json;

namespace TorchDoctor.Corpus;

/// <summary>Scores of one group of programs (a capability within a split).</summary>
/// <param name="Capability">Capability name.</param>
/// <param name="Split">"tune", "holdout" or "all".</param>
/// <param name="Bugs">Bug programs.</param>
/// <param name="Detected">Bug programs whose expected finding (code and module) came out.</param>
/// <param name="Twins">Fixed twins run.</param>
/// <param name="TwinsWarned">Fixed twins with at least one warning or error.</param>
/// <param name="Clean">Clean programs run.</param>
/// <param name="CleanWarned">Clean programs with at least one warning or error.</param>
/// <param name="RemedyConfirmed">Detected bugs whose fixed twin (which applies the finding's fix) is quiet.</param>
/// <param name="BugsWithOthers">Bug programs with warnings besides the expected one.</param>
/// <param name="Errors">Programs that threw (corpus faults).</param>
/// <param name="Contradictions">Runs with two findings whose machine-readable remedies are opposite (<see cref="Contradictions"/>).</param>
public sealed record Score(string Capability, string Split, int Bugs, int Detected, int Twins, int TwinsWarned, int Clean, int CleanWarned,
    int RemedyConfirmed, int BugsWithOthers, int Errors, int Contradictions)
{
    /// <summary>Detected / Bugs (NaN without bugs).</summary>
    public double Recall => Bugs == 0 ? double.NaN : (double)Detected / Bugs;
    /// <summary>Programs that must be quiet (twins and clean) but warned.</summary>
    public int FalseWarnings => TwinsWarned + CleanWarned;
}

/// <summary>Scores and prints a corpus run.</summary>
public sealed class CorpusReport
{
    /// <summary>Creates the report of these results.</summary>
    public CorpusReport(IReadOnlyList<RunResult> results) => Results = results;

    /// <summary>Every run.</summary>
    public IReadOnlyList<RunResult> Results { get; }

    /// <summary>Scores per capability and split ("tune", "holdout", "all"), capabilities in name order.</summary>
    public IReadOnlyList<Score> Scores()
    {
        var list = new List<Score>();
        foreach (var cap in Results.Select(r => r.Info.Capability).Distinct().Order(StringComparer.Ordinal))
            foreach (var split in new[] { "tune", "holdout", "all" })
            {
                var rs = Results.Where(r => r.Info.Capability == cap && (split == "all" || r.Info.Split.ToString().Equals(split, StringComparison.OrdinalIgnoreCase))).ToList();
                if (rs.Count > 0) list.Add(ScoreOf(cap, split, rs));
            }
        return list;
    }

    /// <summary>The score of any set of results.</summary>
    public static Score ScoreOf(string capability, string split, IReadOnlyList<RunResult> rs)
    {
        var bugs = rs.Where(r => r.Variant == Variant.Bug).ToList();
        var twins = rs.Where(r => r.Variant == Variant.FixedTwin).ToDictionary(r => r.Info.Id);
        var clean = rs.Where(r => r.Variant == Variant.Clean).ToList();
        return new Score(capability, split,
            bugs.Count, bugs.Count(b => b.Detected),
            twins.Count, twins.Values.Count(t => t.Warnings.Count > 0 || t.Error is not null),
            clean.Count, clean.Count(c => c.Warnings.Count > 0 || c.Error is not null),
            bugs.Count(b => b.Detected && twins.TryGetValue(b.Info.Id, out var t) && t.Warnings.Count == 0 && t.Error is null),
            bugs.Count(b => b.Others.Count > 0),
            rs.Count(r => r.Error is not null),
            rs.Count(r => Contradictions.In(r.Findings).Count > 0));
    }

    /// <summary>The table: one row per capability and split, then every miss and false warning.</summary>
    public string ToText(bool details = true)
    {
        var sb = new StringBuilder();
        sb.AppendLine(CultureInfo.InvariantCulture, $"{"capability",-16} {"split",-8} {"recall",-14} {"false warnings (twins + clean)",-31} {"remedy verified",-16} {"bugs w/ other warnings",-22} {"opposite remedies",-17}");
        foreach (var s in Scores())
        {
            var recall = $"{s.Detected}/{s.Bugs} {Pct(s.Recall)}";
            var quiet = $"{s.FalseWarnings}/{s.Twins + s.Clean} ({s.TwinsWarned}/{s.Twins} twins, {s.CleanWarned}/{s.Clean} clean)";
            var remedy = $"{s.RemedyConfirmed}/{s.Detected}";
            var others = $"{s.BugsWithOthers}/{s.Bugs}";
            var threw = s.Errors > 0 ? $"  {s.Errors} program(s) threw" : "";
            var opposite = $"{s.Contradictions} runs";
            sb.AppendLine(CultureInfo.InvariantCulture, $"{s.Capability,-16} {s.Split,-8} {recall,-14} {quiet,-31} {remedy,-16} {others,-22} {opposite,-17}{threw}");
        }
        if (!details) return sb.ToString();
        var lines = new List<string>();
        foreach (var r in Results)
        {
            if (r.Error is not null) lines.Add($"  THREW   {r.Info.Id} ({Name(r.Variant)}): {r.Error}");
            else if (r.Variant == Variant.Bug && !r.Detected)
                lines.Add($"  MISSED  {r.Info.Id} [{r.Info.Capability}, {r.Info.Split.ToString().ToLowerInvariant()}]: expected {r.Info.Expected}, got {Codes(r.Warnings)}");
            else if (r.Variant != Variant.Bug && r.Warnings.Count > 0)
                lines.Add($"  WARNED  {r.Info.Id} ({Name(r.Variant)}) [{r.Info.Capability}, {r.Info.Split.ToString().ToLowerInvariant()}]: {Codes(r.Warnings)}");
            foreach (var (a, b, ra, rb) in Contradictions.In(r.Findings))
                lines.Add($"  OPPOSED {r.Info.Id} ({Name(r.Variant)}): {a.Code} at {a.Module} says {ra}, {b.Code} at {b.Module} says {rb}");
            if (r.Error is not null || (r.Variant == Variant.Bug && !r.Detected) || (r.Variant != Variant.Bug && r.Warnings.Count > 0)) continue;
            if (r.Variant == Variant.Bug && r.Others.Count > 0)
                lines.Add($"  EXTRA   {r.Info.Id} [{r.Info.Capability}]: {r.Info.Expected} and also {Codes(r.Others)}");
        }
        if (lines.Count > 0)
        {
            sb.AppendLine();
            foreach (var l in lines) sb.AppendLine(l);
        }
        var total = Results.Sum(r => r.Seconds);
        sb.AppendLine();
        sb.AppendLine(CultureInfo.InvariantCulture, $"{Results.Count} runs of {Results.Select(r => r.Info.Id).Distinct().Count()} programs in {total:F1} s.");
        return sb.ToString();
    }

    /// <summary>JSON: the scores and every run with its findings.</summary>
    public string ToJson()
    {
        using var ms = new MemoryStream();
        using (var w = new Utf8JsonWriter(ms, new JsonWriterOptions { Indented = true, Encoder = System.Text.Encodings.Web.JavaScriptEncoder.UnsafeRelaxedJsonEscaping }))
        {
            w.WriteStartObject();
            w.WriteStartArray("scores");
            foreach (var s in Scores())
            {
                w.WriteStartObject();
                w.WriteString("capability", s.Capability);
                w.WriteString("split", s.Split);
                w.WriteNumber("bugs", s.Bugs);
                w.WriteNumber("detected", s.Detected);
                if (s.Bugs > 0) w.WriteNumber("recall", s.Recall);
                w.WriteNumber("twins", s.Twins);
                w.WriteNumber("twinsWarned", s.TwinsWarned);
                w.WriteNumber("clean", s.Clean);
                w.WriteNumber("cleanWarned", s.CleanWarned);
                w.WriteNumber("remedyConfirmed", s.RemedyConfirmed);
                w.WriteNumber("bugsWithOtherWarnings", s.BugsWithOthers);
                w.WriteNumber("errors", s.Errors);
                w.WriteNumber("contradictions", s.Contradictions);
                w.WriteEndObject();
            }
            w.WriteEndArray();
            w.WriteStartArray("runs");
            foreach (var r in Results)
            {
                w.WriteStartObject();
                w.WriteString("id", r.Info.Id);
                w.WriteString("variant", Name(r.Variant));
                w.WriteString("capability", r.Info.Capability);
                w.WriteString("split", r.Info.Split.ToString().ToLowerInvariant());
                if (r.Info.Expected is { } e) { w.WriteString("expectedCode", e.Code); if (e.Module is null) w.WriteNull("expectedModule"); else w.WriteString("expectedModule", e.Module); }
                if (r.Variant == Variant.Bug) w.WriteBoolean("detected", r.Detected);
                w.WriteNumber("seconds", Math.Round(r.Seconds, 3));
                if (r.Error is not null) w.WriteString("error", r.Error);
                w.WriteStartArray("findings");
                foreach (var f in r.Findings)
                {
                    w.WriteStartObject();
                    w.WriteString("code", f.Code);
                    w.WriteString("slug", f.Slug);
                    w.WriteString("severity", f.Severity.ToString().ToLowerInvariant());
                    if (f.Module is null) w.WriteNull("module"); else w.WriteString("module", f.Module);
                    if (f.Step is { } st) w.WriteNumber("step", st);
                    w.WriteString("message", f.Message);
                    w.WriteEndObject();
                }
                w.WriteEndArray();
                w.WriteEndObject();
            }
            w.WriteEndArray();
            w.WriteEndObject();
        }
        return Encoding.UTF8.GetString(ms.ToArray());
    }

    private static string Name(Variant v) => v switch { Variant.Bug => "bug", Variant.FixedTwin => "fixed twin", _ => "clean" };
    private static string Pct(double v) => double.IsNaN(v) ? "" : $"({v:P0})".Replace(" ", "", StringComparison.Ordinal);
    private static string Codes(IEnumerable<Findings.Finding> fs)
    {
        var s = string.Join(", ", fs.Select(f => f.Module is null ? $"{f.Code} {f.Slug}" : $"{f.Code} {f.Slug} at {f.Module}"));
        return s.Length == 0 ? "nothing" : s;
    }
}
