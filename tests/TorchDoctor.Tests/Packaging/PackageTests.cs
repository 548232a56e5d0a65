using System.Diagnostics;
using Xunit;

namespace TorchDoctor.Tests.Packaging;

/// <summary>Runs only with TORCHDOCTOR_PACKAGE_TEST=1 (.ci/run sets it): packing and building a fresh app take minutes.</summary>
public sealed class PackageFactAttribute : FactAttribute
{
    public PackageFactAttribute()
    {
        if (Environment.GetEnvironmentVariable("TORCHDOCTOR_PACKAGE_TEST") != "1")
            Skip = "set TORCHDOCTOR_PACKAGE_TEST=1 to pack TorchDoctor into a local feed and build a fresh console app from it (.ci/run does)";
    }
}

public sealed class PackageTests : IDisposable
{
    private readonly string _root = Directory.CreateTempSubdirectory("td-package-").FullName;

    public void Dispose() { try { Directory.Delete(_root, true); } catch (IOException) { } }

    private static string RepoRoot()
    {
        var d = new DirectoryInfo(AppContext.BaseDirectory);
        while (d is not null && !File.Exists(Path.Combine(d.FullName, "TorchDoctor.sln"))) d = d.Parent;
        return d?.FullName ?? throw new InvalidOperationException("repository root not found above " + AppContext.BaseDirectory);
    }

    private static (int Code, string Output) Run(string file, string workDir, params string[] args)
    {
        var psi = new ProcessStartInfo(file) { WorkingDirectory = workDir, RedirectStandardOutput = true, RedirectStandardError = true };
        foreach (var a in args) psi.ArgumentList.Add(a);
        using var p = Process.Start(psi)!;
        var o = p.StandardOutput.ReadToEndAsync();
        var e = p.StandardError.ReadToEndAsync();
        if (!p.WaitForExit(600_000)) { p.Kill(true); throw new TimeoutException($"{file} {string.Join(' ', args)} took more than 10 minutes"); }
        return (p.ExitCode, o.Result + e.Result);
    }

    [PackageFact]
    public void FreshConsoleAppInstallsThePackageFromTheLocalFeedAndFindsAFault()
    {
        var feed = Path.Combine(_root, "feed");
        // A version of its own: the NuGet cache never hands back an older package of the same version.
        var version = "0.1.0-test" + DateTime.UtcNow.ToString("yyyyMMddHHmmss", System.Globalization.CultureInfo.InvariantCulture);
        var (packCode, packOut) = Run("bash", RepoRoot(), "scripts/pack.sh", feed, version);
        Assert.True(packCode == 0, packOut);
        Assert.True(File.Exists(Path.Combine(feed, $"TorchDoctor.{version}.nupkg")), packOut);
        Assert.True(File.Exists(Path.Combine(feed, $"TorchDoctor.{version}.snupkg")), packOut);
        Assert.True(File.Exists(Path.Combine(feed, $"TorchDoctor.Cli.{version}.nupkg")), packOut);

        var app = Path.Combine(_root, "app");
        Directory.CreateDirectory(app);
        File.WriteAllText(Path.Combine(app, "nuget.config"), $"""
            <?xml version="1.0" encoding="utf-8"?>
            <configuration>
              <packageSources>
                <add key="torchdoctor-local" value="{feed}" />
              </packageSources>
            </configuration>
            """);
        File.WriteAllText(Path.Combine(app, "app.csproj"), $"""
            <Project Sdk="Microsoft.NET.Sdk">
              <PropertyGroup>
                <OutputType>Exe</OutputType>
                <TargetFramework>net10.0</TargetFramework>
                <Nullable>enable</Nullable>
                <ImplicitUsings>enable</ImplicitUsings>
              </PropertyGroup>
              <ItemGroup>
                <PackageReference Include="TorchDoctor" Version="{version}" />
                <PackageReference Include="TorchSharp-cpu" Version="0.107.0" />
              </ItemGroup>
            </Project>
            """);
        // The fault: the optimizer holds only the first layer's parameters, so the head never trains (TD2012 not-in-optimizer).
        File.WriteAllText(Path.Combine(app, "Program.cs"), """
            using TorchDoctor;
            using TorchSharp;
            using static TorchSharp.torch;

            var fc1 = nn.Linear(4, 8);
            var model = nn.Sequential(("fc1", fc1), ("relu", nn.ReLU()), ("head", nn.Linear(8, 2)));
            var optimizer = optim.SGD(fc1.parameters(), 0.1);
            Console.WriteLine(model.Summary(1, 4).ToText().Split('\n').Length > 3 ? "summary ok" : "summary missing");
            using var doctor = model.AttachDoctor(optimizer);
            foreach (var f in doctor.Findings) Console.WriteLine(f.Code + " " + f.Slug);
            """);
        var (code, output) = Run("dotnet", app, "run", "-c", "Release");
        Assert.True(code == 0, output);
        Assert.True(output.Contains("summary ok", StringComparison.Ordinal), output);
        Assert.True(output.Contains("TD2012 not-in-optimizer", StringComparison.Ordinal), output);
        // The app used the package, not the repository's project.
        Assert.True(File.Exists(Path.Combine(app, "obj", "project.assets.json")));
        Assert.Contains($"\"TorchDoctor/{version}\"", File.ReadAllText(Path.Combine(app, "obj", "project.assets.json")), StringComparison.Ordinal);
    }
}
