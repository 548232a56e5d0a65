using TorchDoctor.Analyzers;
using Xunit;

namespace TorchDoctor.Tests.Analyzers;

public class MatmulTests
{
    private const string Source = """
        static class Program
        {
            static Tensor F(Tensor a, Tensor b) => a.{|#0:matmul|}(b) + torch.{|#1:matmul|}(a, b) + torch.mm(a, b);
        }
        """;

    [Fact]
    public Task Matmul_is_information_on_the_referenced_TorchSharp_0_107() => Verify.Analyzer<MatmulAnalyzer>(Source.Replace("{|#0:", "{|TD5007:").Replace("{|#1:", "{|TD5007:"));

    [Fact]
    public Task Matmul_is_not_flagged_when_the_configured_version_is_not_known_to_abort() =>
        Verify.Analyzer<MatmulAnalyzer>(Source.Replace("{|#0:matmul|}", "matmul").Replace("{|#1:matmul|}", "matmul"), "torchdoctor.torchsharp_version = 0.105.1");

    [Fact]
    public void Only_measured_versions_abort()
    {
        Assert.True(MatmulAnalyzer.Aborts(new Version(0, 107, 0)));
        Assert.False(MatmulAnalyzer.Aborts(new Version(0, 105, 1)));
    }
}
