using System.Diagnostics;
using System.IO.Compression;
using Xunit;

namespace TorchDoctor.Tests.Analyzers;

/// <summary>
/// The packed analyzer in a fresh console app: `dotnet pack` into a local feed under a temp folder, a new project that
/// references TorchSharp and TorchDoctor.Analyzers from that feed (plus the normal configured source, for TorchSharp,
/// which restores from the local package cache), and `dotnet build` must print the rules' warnings. Slow (a restore and
/// two builds): filter it out with <c>--filter Category!=Slow</c>.
/// </summary>
public class PackageTests
{
    private static (int Code, string Output) Dotnet(string workingDirectory, params string[] args)
    {
        var psi = new ProcessStartInfo("dotnet") { WorkingDirectory = workingDirectory, RedirectStandardOutput = true, RedirectStandardError = true };
        foreach (var a in args) psi.ArgumentList.Add(a);
        psi.Environment["DOTNET_CLI_TELEMETRY_OPTOUT"] = "1";
        psi.Environment["DOTNET_NOLOGO"] = "1";
        using var p = Process.Start(psi)!;
        var stdout = p.StandardOutput.ReadToEndAsync();
        var stderr = p.StandardError.ReadToEndAsync();
        p.WaitForExit();
        return (p.ExitCode, stdout.Result + stderr.Result);
    }

    [Fact]
    [Trait("Category", "Slow")]
    public void A_fresh_console_app_gets_the_warnings_in_dotnet_build()
    {
        var root = Cli.LintCliTests.RepoRoot();
        var work = Directory.CreateTempSubdirectory("td-analyzers-");
        // A version of its own, so that the package cache never serves an older build of the analyzer.
        var version = "0.1.0-test" + DateTime.UtcNow.Ticks;
        try
        {
            var feed = Path.Combine(work.FullName, "feed");
            var (packCode, packOut) = Dotnet(root, "pack", Path.Combine(root, "src", "TorchDoctor.Analyzers", "TorchDoctor.Analyzers.csproj"),
                "-c", "Release", "--no-build", "-o", feed, "-p:PackageVersion=" + version);
            Assert.True(packCode == 0, packOut);
            var nupkg = Path.Combine(feed, $"TorchDoctor.Analyzers.{version}.nupkg");
            using (var zip = ZipFile.OpenRead(nupkg))
            {
                var entries = zip.Entries.Select(e => e.FullName).ToList();
                Assert.Contains("analyzers/dotnet/cs/TorchDoctor.Analyzers.dll", entries);
                Assert.Contains("analyzers/dotnet/cs/TorchDoctor.Analyzers.CodeFixes.dll", entries);
                Assert.DoesNotContain(entries, e => e.StartsWith("lib/", StringComparison.Ordinal));
            }

            var app = Path.Combine(work.FullName, "app");
            Directory.CreateDirectory(app);
            File.WriteAllText(Path.Combine(app, "nuget.config"), $"""
                <?xml version="1.0" encoding="utf-8"?>
                <configuration>
                  <packageSources>
                    <add key="local-feed" value="{feed}" />
                  </packageSources>
                </configuration>
                """);
            File.WriteAllText(Path.Combine(app, "App.csproj"), $"""
                <Project Sdk="Microsoft.NET.Sdk">
                  <PropertyGroup>
                    <OutputType>Exe</OutputType>
                    <TargetFramework>net10.0</TargetFramework>
                    <Nullable>enable</Nullable>
                  </PropertyGroup>
                  <ItemGroup>
                    <PackageReference Include="TorchSharp" Version="0.107.0" />
                    <PackageReference Include="TorchDoctor.Analyzers" Version="{version}" />
                  </ItemGroup>
                </Project>
                """);
            File.Copy(Path.Combine(root, "tests", "TorchDoctor.Tests", "Fixtures", "lint", "AllRules", "Model.cs"), Path.Combine(app, "Model.cs"));
            File.WriteAllText(Path.Combine(app, "Main.cs"), "public static class EntryPoint { public static void Main() { } }\n");
            File.WriteAllText(Path.Combine(app, ".editorconfig"), "root = true\n[*.cs]\ndotnet_diagnostic.TD5006.severity = warning\n");

            var (buildCode, buildOut) = Dotnet(app, "build", "-c", "Release", "-p:TreatWarningsAsErrors=false");
            // TD1003 is an error by default (the Sequential cannot run): the build fails on it, as it should.
            Assert.NotEqual(0, buildCode);
            foreach (var code in new[] { "warning TD1001", "error TD1003", "warning TD5001", "warning TD5002", "warning TD5003", "warning TD5004", "warning TD5005" })
                Assert.True(buildOut.Contains(code, StringComparison.Ordinal), $"'{code}' missing from dotnet build output:\n{buildOut}");
            // .editorconfig raised the information-level TD5006 to a warning.
            Assert.Contains("warning TD5006", buildOut);
        }
        finally
        {
            work.Delete(true);
            var cached = Path.Combine(Environment.GetFolderPath(Environment.SpecialFolder.UserProfile), ".nuget", "packages", "torchdoctor.analyzers", version);
            if (Directory.Exists(cached)) Directory.Delete(cached, true);
        }
    }
}
