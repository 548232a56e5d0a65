using System.Text.Json;
using TorchDoctor.Cli;

[assembly: Xunit.CollectionBehavior(DisableTestParallelization = true)]

namespace TorchDoctor.Tests;

/// <summary>Runs the CLI in-process and captures its output.</summary>
internal static class CliRunner
{
    public static (int Code, string Out, string Err) Run(params string[] args)
    {
        var o = new StringWriter();
        var e = new StringWriter();
        var code = new CliApp(o, e).Run(args);
        return (code, o.ToString(), e.ToString());
    }

    public static JsonElement Json(string text) => JsonDocument.Parse(text).RootElement;
}

internal static class Fixtures
{
    public static string Path(string name) => System.IO.Path.Combine(AppContext.BaseDirectory, "Fixtures", name);
}
