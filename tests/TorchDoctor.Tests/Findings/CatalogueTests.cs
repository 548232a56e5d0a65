using System.Text.RegularExpressions;
using TorchDoctor.Findings;
using Xunit;

namespace TorchDoctor.Tests.Findings;

public class CatalogueTests
{
    private static readonly string Doc = File.ReadAllText(Path.Combine(AppContext.BaseDirectory, "docs", "findings.md"));

    /// <summary>The catalogue classes whose descriptions and remedies were reviewed against docs/findings.md (issue 8).</summary>
    private static readonly Type[] Reviewed = [typeof(StructureCodes), typeof(TrainingCodes), typeof(DataCodes), typeof(PortingCodes)];

    private static IReadOnlyList<FindingCode> ReviewedCodes => Reviewed
        .SelectMany(t => t.GetFields(System.Reflection.BindingFlags.Public | System.Reflection.BindingFlags.Static))
        .Where(f => f.FieldType == typeof(FindingCode)).Select(f => (FindingCode)f.GetValue(null)!).ToList();

    private static IReadOnlyList<FindingCode> BuiltIn => typeof(StructureCodes).Assembly.GetTypes()
        .Where(t => t.Name.EndsWith("Codes", StringComparison.Ordinal))
        .SelectMany(t => t.GetFields(System.Reflection.BindingFlags.Public | System.Reflection.BindingFlags.Static))
        .Where(f => f.FieldType == typeof(FindingCode)).Select(f => (FindingCode)f.GetValue(null)!).ToList();

    [Fact]
    public void Codes_and_slugs_are_unique_and_well_formed()
    {
        Assert.Equal(FindingCatalogue.All.Count, FindingCatalogue.All.Select(c => c.Code).Distinct().Count());
        Assert.Equal(FindingCatalogue.All.Count, FindingCatalogue.All.Select(c => c.Slug).Distinct().Count());
        Assert.All(FindingCatalogue.All, c => Assert.Matches("^TD[0-9]{4}$", c.Code));
        Assert.All(FindingCatalogue.All, c => Assert.Matches("^[a-z0-9]+(-[a-z0-9]+)*$", c.Slug));
    }

    [Fact]
    public void Catalogue_classes_share_one_naming_scheme()
    {
        var classes = typeof(StructureCodes).Assembly.GetTypes()
            .Where(t => t.IsAbstract && t.IsSealed && t.GetFields().Any(f => f.FieldType == typeof(FindingCode))).Select(t => t.Name).Order().ToList();
        Assert.All(classes, c => Assert.EndsWith("Codes", c));
        Assert.DoesNotContain("FindingCodes", classes);
    }

    [Fact]
    public void Every_code_is_documented_in_docs_findings_md()
    {
        foreach (var c in BuiltIn)
            Assert.Matches(new Regex($@"##\s+{c.Code}\s+`{Regex.Escape(c.Slug)}`"), Doc);
    }

    /// <summary>Each number a description states (thresholds like 5e-2, 70%, ±5, 1e3) appears in the code's docs section.</summary>
    [Fact]
    public void Every_description_agrees_with_its_docs_section()
    {
        var bad = new List<string>();
        foreach (var c in ReviewedCodes)
        {
            var section = Section(c.Code);
            foreach (Match m in Regex.Matches(c.Summary, @"(?<![\w.\-–])\d+(\.\d+)?(e[+-]?\d+)?%?"))
                if (!section.Contains(m.Value, StringComparison.Ordinal)) bad.Add($"{c.Code}: '{m.Value}' of \"{c.Summary}\"");
            Assert.Equal(c.Severity.ToString().ToLowerInvariant(), Regex.Match(section, @"- Severity: (\w+)").Groups[1].Value);
        }
        Assert.True(bad.Count == 0, string.Join("\n", bad));
    }

    [Fact]
    public void Every_warning_and_error_declares_a_remedy()
    {
        Assert.All(ReviewedCodes.Append(ConvergenceCodes.Overfitting).Where(c => c.Severity != Severity.Info), c => Assert.NotEqual(RemedyKind.None, c.Remedy));
        Assert.True(RemedyKind.LowerLearningRate.Contradicts(RemedyKind.RaiseLearningRate));
        Assert.True(RemedyKind.RaiseLearningRate.Contradicts(RemedyKind.LowerLearningRate));
        Assert.False(RemedyKind.LowerLearningRate.Contradicts(RemedyKind.ClipGradients));
        var f = Finding.Create(TrainingCodes.UpdateRatioHigh, "fc", "m", "a");
        Assert.Equal(RemedyKind.LowerLearningRate, f.Remedy);
        Assert.Equal(RemedyKind.ClipGradients, Finding.Create(TrainingCodes.UpdateRatioHigh, "fc", "m", "a", remedy: RemedyKind.ClipGradients).Remedy);
    }

    private static class OutsideCodes
    {
        public static readonly FindingCode Custom = new("TD9901", "custom-outside", Severity.Info, "A code defined outside the library.");
    }

    [Fact]
    public void Codes_defined_outside_the_library_can_be_registered()
    {
        FindingCatalogue.Register(typeof(OutsideCodes));
        FindingCatalogue.Register(typeof(OutsideCodes));   // idempotent
        Assert.Same(OutsideCodes.Custom, FindingCatalogue.Find("custom-outside"));
        Assert.Throws<ArgumentException>(() => FindingCatalogue.Register(new FindingCode("TD2009", "other", Severity.Info, "clash")));
    }

    private static string Section(string code)
    {
        int i = Doc.IndexOf($"## {code} ", StringComparison.Ordinal);
        Assert.True(i >= 0, code);
        int j = Doc.IndexOf("\n#", i + 3, StringComparison.Ordinal);
        return j < 0 ? Doc[i..] : Doc[i..j];
    }
}
