using System.Runtime.InteropServices;
using System.Text;
using TorchSharp;

namespace TorchDoctor.Runtime;

/// <summary>
/// Thrown when TorchSharp's native library cannot be loaded. <see cref="Exception.Message"/> names the
/// missing piece and the command that fixes it.
/// </summary>
public sealed class TorchRuntimeUnavailableException : Exception
{
    /// <summary>Creates the exception.</summary>
    public TorchRuntimeUnavailableException(string message, Exception? inner) : base(message, inner) { }
}

/// <summary>
/// Loads TorchSharp's native back end once and turns a load failure into one clear message.
/// Call <see cref="EnsureLoaded"/> before the first TorchSharp call; every public entry point of
/// TorchDoctor does.
/// </summary>
public static class TorchRuntime
{
    /// <summary>The libstdc++ symbol version that libtorch 2.10 (TorchSharp 0.107) needs.</summary>
    public const string RequiredGlibcxx = "GLIBCXX_3.4.32";

    /// <summary>The command that installs the newer libstdc++ on Debian 12.</summary>
    public const string SetupCommand = "sudo bash scripts/setup.sh   (from the TorchDoctor repository; it installs libstdc++6 from Debian trixie, pinned)";

    private static readonly Lock Gate = new();
    private static bool _loaded;
    private static TorchRuntimeUnavailableException? _failure;

    /// <summary>
    /// Makes sure libtorch is loaded. Throws <see cref="TorchRuntimeUnavailableException"/> with a
    /// plain explanation when it cannot be.
    /// </summary>
    public static void EnsureLoaded()
    {
        if (_loaded) return;
        lock (Gate)
        {
            if (_loaded) return;
            if (_failure is not null) throw _failure;
            // TorchSharp writes its own long trace to stdout when loading fails; keep stdout clean
            // (it may be JSON) and give one message instead.
            var stdout = Console.Out;
            var captured = new StringWriter();
            try
            {
                Console.SetOut(captured);
                torch.InitializeDeviceType(DeviceType.CPU);
                _loaded = true;
            }
            catch (Exception ex) when (IsLoadFailure(ex))
            {
                _failure = new TorchRuntimeUnavailableException(Explain(ex), ex);
                throw _failure;
            }
            finally
            {
                Console.SetOut(stdout);
            }
        }
    }

    private static bool IsLoadFailure(Exception ex) => ex is DllNotFoundException or TypeInitializationException
        or NotSupportedException or BadImageFormatException or EntryPointNotFoundException or InvalidOperationException;

    /// <summary>Builds the message for a load failure: the missing piece and the fix.</summary>
    internal static string Explain(Exception ex)
    {
        var sb = new StringBuilder("TorchSharp's native library (LibTorchSharp / libtorch) could not be loaded. ");
        if (OperatingSystem.IsLinux())
        {
            var lib = FindLibStdCxx();
            if (lib is not null && !FileContains(lib, RequiredGlibcxx))
            {
                sb.Append($"The C++ runtime {lib} lacks {RequiredGlibcxx} (libtorch 2.10 needs GCC 13's libstdc++; Debian 12 ships GCC 12's). ");
                sb.Append($"Fix: {SetupCommand}.");
                return sb.ToString();
            }
        }
        var root = ex;
        while (root.InnerException is not null) root = root.InnerException;
        var first = root.Message.Split('\n', 2)[0].Trim();
        sb.Append($"Reason: {root.GetType().Name}: {first} ");
        sb.Append("Fix: make sure the TorchSharp-cpu 0.107.0 package restored (dotnet restore) and, on Linux, run " + SetupCommand + ".");
        return sb.ToString();
    }

    /// <summary>Finds the libstdc++.so.6 the dynamic loader would pick, or null.</summary>
    internal static string? FindLibStdCxx()
    {
        var dirs = new List<string>();
        var ld = Environment.GetEnvironmentVariable("LD_LIBRARY_PATH");
        if (!string.IsNullOrEmpty(ld)) dirs.AddRange(ld.Split(':', StringSplitOptions.RemoveEmptyEntries));
        var arch = RuntimeInformation.ProcessArchitecture == Architecture.Arm64 ? "aarch64-linux-gnu" : "x86_64-linux-gnu";
        dirs.AddRange([$"/lib/{arch}", $"/usr/lib/{arch}", "/lib64", "/usr/lib64", "/lib", "/usr/lib"]);
        return dirs.Select(d => Path.Combine(d, "libstdc++.so.6")).FirstOrDefault(File.Exists);
    }

    /// <summary>True when the file's bytes contain <paramref name="ascii"/>.</summary>
    internal static bool FileContains(string path, string ascii)
    {
        var needle = Encoding.ASCII.GetBytes(ascii);
        var bytes = File.ReadAllBytes(path);
        return bytes.AsSpan().IndexOf(needle) >= 0;
    }
}
