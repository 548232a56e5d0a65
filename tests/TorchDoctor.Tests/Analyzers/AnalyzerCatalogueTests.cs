using Microsoft.CodeAnalysis;
using TorchDoctor.Analyzers;
using TorchDoctor.Findings;
using Xunit;

namespace TorchDoctor.Tests.Analyzers;

public class AnalyzerCatalogueTests
{
    [Fact]
    public void Every_analyzer_rule_is_a_catalogue_code_with_the_same_slug_and_severity()
    {
        Assert.Equal(9, Rules.All.Length);
        foreach (var rule in Rules.All)
        {
            var code = FindingCatalogue.Find(rule.Id);
            Assert.True(code is not null, $"{rule.Id} is not in the catalogue");
            Assert.Equal(code!.Slug, rule.Title.ToString());
            var expected = code.Severity switch { Severity.Error => DiagnosticSeverity.Error, Severity.Warning => DiagnosticSeverity.Warning, _ => DiagnosticSeverity.Info };
            Assert.Equal(expected, rule.DefaultSeverity);
            Assert.Equal($"docs/findings.md#{rule.Id.ToLowerInvariant()}-{code.Slug}", rule.HelpLinkUri);
        }
    }

    [Fact]
    public void Every_source_code_of_the_catalogue_has_an_analyzer_rule()
    {
        var ids = Rules.All.Select(r => r.Id).ToHashSet();
        Assert.All(FindingCatalogue.All.Where(c => c.Code.StartsWith("TD5", StringComparison.Ordinal)), c => Assert.Contains(c.Code, ids));
    }

    [Fact]
    public void Every_analyzer_in_the_assembly_reports_only_catalogued_rules()
    {
        var analyzers = typeof(Rules).Assembly.GetTypes().Where(t => !t.IsAbstract && typeof(Microsoft.CodeAnalysis.Diagnostics.DiagnosticAnalyzer).IsAssignableFrom(t))
            .Select(t => (Microsoft.CodeAnalysis.Diagnostics.DiagnosticAnalyzer)Activator.CreateInstance(t)!).ToList();
        Assert.Equal(6, analyzers.Count);
        Assert.Equal(Rules.All.Select(r => r.Id).Order(), analyzers.SelectMany(a => a.SupportedDiagnostics).Select(d => d.Id).Order());
    }
}
