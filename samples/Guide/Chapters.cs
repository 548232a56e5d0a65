namespace TorchDoctor.Guide;

/// <summary>One runnable sample per chapter of docs/guide.md, in the guide's order.</summary>
public static class Chapters
{
    /// <summary>A chapter's sample: its command name, the guide section, what it shows and the code that runs it.</summary>
    public sealed record Chapter(string Name, string Section, string Shows, Func<TextWriter, bool> Run);

    /// <summary>The chapters in the guide's order.</summary>
    public static IReadOnlyList<Chapter> All { get; } =
    [
        new("basics", "1 Basics", "a standard training loop with gradient clipping, the model summary and the doctor attached: it stays quiet", BasicsSample.Run),
        new("problems", "2 Common problems", "a layer that takes log() of ReLU outputs: the doctor names the layer where -inf/NaN starts; log1p is quiet", ProblemsSample.Run),
        new("data", "3 Data loading", "a Dataset with raw 0-255 pixels and an out-of-range label: DatasetChecker names both; the scaled, normalised set is clean", DataSample.Run),
        new("shapes", "4 Shapes", "an MLP fed [N, 1, 28, 28] without a flatten: the summary explains the failure and the fix; with Flatten it runs", ShapesSample.Run),
        new("hooks", "5 Hooks and profiling", "a forward hook printing each layer's output shape, then TorchDoctor's per-module profiler table", HooksSample.Run),
        new("memory", "6 Memory", "inference with and without no_grad(): the activations kept for a backward that never comes", MemorySample.Run),
        new("graph", "7 Graph optimisation", "one product three ways (torch.mm, broadcast-and-sum, a per-row loop): the same numbers; timings printed to compare", GraphSample.Run),
        new("tools", "8 Tools", "a run written to TensorBoard event files and a JSONL log, read back and analysed like `torchdoctor analyze`", ToolsSample.Run),
        new("case-overfitting", "9 Case studies", "a wide MLP memorising 48 samples: validation loss turns up and the doctor names the onset epoch", CaseStudySample.Run),
    ];

    /// <summary>Runs the chapter named by <paramref name="args"/>[0] (or lists them); returns the process exit code.</summary>
    public static int Run(string[] args, TextWriter output)
    {
        ArgumentNullException.ThrowIfNull(args);
        ArgumentNullException.ThrowIfNull(output);
        if (args.Length == 0 || args[0] is "list" or "--help" or "-h")
        {
            output.WriteLine("Samples of docs/guide.md: dotnet run --project samples/Guide -- <chapter>");
            foreach (var c in All) output.WriteLine($"  {c.Name,-18} {c.Section,-24} {c.Shows}");
            return 0;
        }
        var chapter = All.FirstOrDefault(c => c.Name == args[0]);
        if (chapter is null)
        {
            output.WriteLine($"guide: no chapter '{args[0]}'; run without arguments for the list.");
            return 2;
        }
        TorchSharp.torch.manual_seed(0);
        output.WriteLine($"== {chapter.Section}: {chapter.Shows}");
        bool ok = chapter.Run(output);
        output.WriteLine(ok ? "== as the guide says" : "== NOT as the guide says (see above)");
        return ok ? 0 : 1;
    }
}
