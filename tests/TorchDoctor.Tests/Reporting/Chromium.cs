using System.Diagnostics;
using System.Text.RegularExpressions;
using Xunit;

namespace TorchDoctor.Tests.Reporting;

/// <summary>A fact skipped, with the reason, when Debian's chromium is not installed (scripts/setup.sh --with-browser installs it; CI does).</summary>
public sealed class ChromiumFactAttribute : FactAttribute
{
    public ChromiumFactAttribute()
    {
        if (!File.Exists(Chromium.Path))
            Skip = $"{Chromium.Path} is not installed: run bash scripts/setup.sh --with-browser (Debian package chromium)";
    }
}

/// <summary>Headless Chromium: the rendered DOM after scripts ran, the console errors, a screenshot.</summary>
internal static partial class Chromium
{
    public const string Path = "/usr/bin/chromium";

    private static (string Out, string Err) Run(params string[] args)
    {
        var psi = new ProcessStartInfo(Path) { RedirectStandardOutput = true, RedirectStandardError = true };
        foreach (var a in (string[])["--headless", "--no-sandbox", "--disable-gpu", "--no-first-run", "--disable-dev-shm-usage", "--enable-logging=stderr", "--v=0",
                     "--virtual-time-budget=10000", .. args])
            psi.ArgumentList.Add(a);
        using var p = Process.Start(psi)!;
        var stdout = p.StandardOutput.ReadToEndAsync();
        var stderr = p.StandardError.ReadToEndAsync();
        if (!p.WaitForExit(120_000)) { p.Kill(true); throw new TimeoutException("chromium did not finish in 120 s"); }
        return (stdout.Result, stderr.Result);
    }

    /// <summary>Loads the page; returns the DOM after its scripts ran and the console messages at error level.</summary>
    public static (string Dom, IReadOnlyList<string> ConsoleErrors) Load(string file)
    {
        var (dom, err) = Run("--dump-dom", new Uri(System.IO.Path.GetFullPath(file)).AbsoluteUri);
        // Chromium logs console messages as: [..:INFO:CONSOLE(12)] "message", source: file:///... (12); errors as ERROR or with Uncaught.
        var errors = err.Split('\n').Where(l => l.Contains("CONSOLE", StringComparison.Ordinal) &&
            (l.Contains("Uncaught", StringComparison.Ordinal) || l.Contains(":ERROR:", StringComparison.Ordinal) || l.Contains("Error", StringComparison.Ordinal))).ToList();
        return (dom, errors);
    }

    public static void Screenshot(string file, string png, int height = 2400)
        => Run("--hide-scrollbars", $"--window-size=1280,{height}", $"--screenshot={System.IO.Path.GetFullPath(png)}", new Uri(System.IO.Path.GetFullPath(file)).AbsoluteUri);

    public static int BodyAttribute(string dom, string name)
    {
        var m = Regex.Match(dom, "<body[^>]*\\s" + name + "=\"(\\d+)\"");
        return m.Success ? int.Parse(m.Groups[1].Value, System.Globalization.CultureInfo.InvariantCulture) : -1;
    }
}
