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

public class NativeLoadFailureTests
{
    /// <summary>
    /// End to end: a copy of the CLI (hard links, instant) without libLibTorchSharp.so and with NuGet's package folder out of
    /// reach, so TorchSharp really cannot load its native library. Every command must say so in one line, exit 4, and keep
    /// stdout empty.
    /// </summary>
    [Fact]
    public void Cli_reports_a_missing_native_library_in_one_line()
    {
        if (!OperatingSystem.IsLinux()) return;
        // Next to the test binaries: the same file system, so hard links work.
        var copy = Path.GetFullPath(Path.Combine(AppContext.BaseDirectory, "..", "td-noload-" + Environment.ProcessId));
        var home = Path.Combine(copy, "home");
        try
        {
            Run("cp", $"-al \"{AppContext.BaseDirectory.TrimEnd('/')}\" \"{copy}\"", null, out _, out _);
            File.Delete(Path.Combine(copy, "runtimes", "linux-x64", "native", "libLibTorchSharp.so"));
            Directory.CreateDirectory(home);
            var env = new Dictionary<string, string> { ["HOME"] = home, ["NUGET_PACKAGES"] = Path.Combine(home, "nuget") };
            foreach (var args in new[] { "summary --model mlp", "demo clean --steps 5", "check-data --fashion-mnist", "print --model mlp" })
            {
                var code = Run("dotnet", $"\"{Path.Combine(copy, "TorchDoctor.Cli.dll")}\" {args}", env, out var stdout, out var stderr);
                Assert.True(code == 4, $"{args}: exit {code}, stderr {stderr}");
                Assert.Equal("", stdout);
                var line = Assert.Single(stderr.Trim().Split('\n'));
                Assert.Contains("could not be loaded", line);
                Assert.Contains("scripts/setup.sh", line);
            }
        }
        finally
        {
            if (Directory.Exists(copy)) Directory.Delete(copy, recursive: true);
        }
    }

    private static int Run(string file, string args, Dictionary<string, string>? env, out string stdout, out string stderr)
    {
        var psi = new System.Diagnostics.ProcessStartInfo(file, args) { RedirectStandardOutput = true, RedirectStandardError = true };
        if (env is not null) foreach (var (k, v) in env) psi.Environment[k] = v;
        using var p = System.Diagnostics.Process.Start(psi)!;
        var o = p.StandardOutput.ReadToEndAsync();
        var e = p.StandardError.ReadToEndAsync();
        p.WaitForExit(120_000);
        stdout = o.Result;
        stderr = e.Result;
        return p.ExitCode;
    }
}
