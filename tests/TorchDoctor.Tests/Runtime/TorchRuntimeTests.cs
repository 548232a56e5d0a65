using TorchDoctor.Runtime;
using Xunit;

namespace TorchDoctor.Tests.Runtime;

public class TorchRuntimeTests
{
    [Fact]
    public void Loads_on_this_machine()
    {
        TorchRuntime.EnsureLoaded();
        using var t = TorchSharp.torch.ones(2);
        Assert.Equal(2, t.sum().item<float>());
    }

    [Fact]
    public void Symbol_search_reads_binary_files()
    {
        var f = Path.GetTempFileName();
        File.WriteAllBytes(f, [0, 1, .. "xxGLIBCXX_3.4.31\0"u8.ToArray()]);
        Assert.False(TorchRuntime.FileContains(f, TorchRuntime.RequiredGlibcxx));
        File.WriteAllBytes(f, [0, 1, .. "GLIBCXX_3.4.32\0"u8.ToArray()]);
        Assert.True(TorchRuntime.FileContains(f, TorchRuntime.RequiredGlibcxx));
        File.Delete(f);
    }

    [Fact]
    public void Load_failure_message_names_the_fix()
    {
        var msg = TorchRuntime.Explain(new TypeInitializationException("TorchSharp.torch", new DllNotFoundException("Unable to load shared library 'LibTorchSharp'")));
        Assert.Contains("scripts/setup.sh", msg);
        Assert.Contains("could not be loaded", msg);
        Assert.DoesNotContain("   at ", msg);
        // On this machine the symbol is present, so the message falls back to the root cause.
        if (OperatingSystem.IsLinux() && TorchRuntime.FindLibStdCxx() is { } lib && TorchRuntime.FileContains(lib, TorchRuntime.RequiredGlibcxx))
            Assert.Contains("LibTorchSharp", msg);
    }
}
