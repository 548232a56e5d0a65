using System.Globalization;
using TorchDoctor.Corpus;
using TorchDoctor.Runtime;
using TorchSharp;

// dotnet run --project corpus/TorchDoctor.Corpus -c Release -- [--split tune|holdout|all] [--capability NAME] [--case ID]
//   [--json] [--list] [--check] [--findings] [--fixed-interval]
// Exit codes: 0 ok; 1 with --check when an existing capability misses its floor (recall ≥ 90%, no false warning); 2 bad usage.
string? split = null, capability = null, id = null;
bool json = false, list = false, check = false, showFindings = false, fixedInterval = false;
for (int i = 0; i < args.Length; i++)
{
    string Next() => i + 1 < args.Length ? args[++i] : throw new ArgumentException($"{args[i]} needs a value");
    try
    {
        switch (args[i])
        {
            case "--split": split = Next(); break;
            case "--capability": capability = Next(); break;
            case "--case": id = Next(); break;
            case "--json": json = true; break;
            case "--list": list = true; break;
            case "--check": check = true; break;
            case "--findings": showFindings = true; break;
            case "--fixed-interval": fixedInterval = true; break;
            case "-h" or "--help":
                Console.WriteLine("usage: corpus [--split tune|holdout|all] [--capability NAME] [--case ID] [--json] [--list] [--check] [--findings] [--fixed-interval]");
                Console.WriteLine("  --fixed-interval  sample every SampleInterval-th step (DoctorOptions.Schedule = null), as before the sampling schedule");
                return 0;
            default: throw new ArgumentException($"unknown option {args[i]}");
        }
    }
    catch (ArgumentException ex)
    {
        Console.Error.WriteLine($"corpus: {ex.Message} (see --help)");
        return 2;
    }
}
Split? s = split switch
{
    null or "all" => null,
    "tune" => Split.Tune,
    "holdout" => Split.Holdout,
    _ => (Split?)(Split)(-1),
};
if (s is (Split)(-1)) { Console.Error.WriteLine($"corpus: --split must be tune, holdout or all, not '{split}'"); return 2; }

var cases = CorpusRunner.Select(CorpusRunner.Discover(), s, capability, id).ToList();
if (list)
{
    foreach (var c in cases)
        Console.WriteLine(string.Create(CultureInfo.InvariantCulture,
            $"{c.Info.Id,-36} {c.Info.Kind.ToString().ToLowerInvariant(),-6} {c.Info.Capability,-15} {c.Info.Split.ToString().ToLowerInvariant(),-8} {c.Info.Expected?.ToString() ?? "none"}"));
    return 0;
}
if (cases.Count == 0) { Console.Error.WriteLine("corpus: no program matches"); return 2; }
try { TorchRuntime.EnsureLoaded(); }
catch (Exception ex) { Console.Error.WriteLine($"corpus: {ex.Message}"); return 4; }
torch.set_num_threads(1);   // deterministic, and fair to a shared machine
var results = new List<RunResult>();
foreach (var c in cases)
    foreach (var r in CorpusRunner.Run(c, fixedInterval))
    {
        results.Add(r);
        if (!json) Console.Error.WriteLine(string.Create(CultureInfo.InvariantCulture,
            $"{r.Info.Id} ({r.Variant}): {r.Seconds:F1} s, {(r.Error ?? string.Join(", ", r.Warnings.Select(f => $"{f.Code} {f.Module}")))}"));
        if (showFindings && !json)
            foreach (var f in r.Findings) Console.Error.WriteLine($"    {f}");
    }
var report = new CorpusReport(results);
Console.WriteLine(json ? report.ToJson() : report.ToText());
if (check && report.Scores().Any(x => Capabilities.Existing.Contains(x.Capability) && (x.Recall < 0.9 || x.FalseWarnings > 0 || x.Errors > 0 || x.Contradictions > 0)))
    return 1;
return 0;
