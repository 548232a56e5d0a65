using System.Text.RegularExpressions;
using TorchDoctor.Findings;
using Xunit;

namespace TorchDoctor.Tests.Findings;

public class CatalogueTests
{
    [Fact]
    public void Codes_and_slugs_are_unique_and_well_formed()
    {
        Assert.Equal(FindingCodes.All.Count, FindingCodes.All.Select(c => c.Code).Distinct().Count());
        Assert.Equal(FindingCodes.All.Count, FindingCodes.All.Select(c => c.Slug).Distinct().Count());
        Assert.All(FindingCodes.All, c => Assert.Matches("^TD[0-9]{4}$", c.Code));
        Assert.All(FindingCodes.All, c => Assert.Matches("^[a-z0-9]+(-[a-z0-9]+)*$", c.Slug));
    }

    [Fact]
    public void Every_code_is_documented_in_docs_findings_md()
    {
        var doc = File.ReadAllText(Path.Combine(AppContext.BaseDirectory, "docs", "findings.md"));
        foreach (var c in FindingCodes.All)
        {
            Assert.Matches(new Regex($@"##\s+{c.Code}\s+`{Regex.Escape(c.Slug)}`"), doc);
        }
    }
}
