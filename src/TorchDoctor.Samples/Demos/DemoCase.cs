using TorchDoctor.Findings;

namespace TorchDoctor.Demos;

/// <summary>How to run a demo case.</summary>
public sealed record DemoOptions
{
    /// <summary><c>generated</c> (built in, default) or <c>fashion-mnist</c> (Debian's dataset-fashion-mnist files).</summary>
    public string Data { get; init; } = "generated";
    /// <summary>Training steps; null for the case's default.</summary>
    public int? Steps { get; init; }
    /// <summary>Seed for weights, data and shuffling.</summary>
    public long Seed { get; init; }
    /// <summary>Apply the remedy and run again, to show before/after numbers.</summary>
    public bool Fix { get; init; } = true;
    /// <summary>Progress messages (one line each), or null.</summary>
    public Action<string>? Log { get; init; }
    /// <summary>
    /// When set, each training run is recorded under this directory (one sub-directory per run: JSONL run log and
    /// TensorBoard event files), with validation loss and accuracy every <see cref="EvalInterval"/> steps.
    /// </summary>
    public string? RunDirectory { get; init; }
    /// <summary>Validation interval of recorded runs, in steps. Default 25.</summary>
    public int EvalInterval { get; init; } = 25;
}

/// <summary>One training run of a demo: its label, numbers (loss, accuracy, …) and findings.</summary>
/// <param name="Label">e.g. <c>before</c>, <c>after: clip_grad_norm(1.0) + lr 0.01</c>.</param>
/// <param name="Metrics">Named numbers, e.g. <c>finalLoss</c>, <c>accuracy</c>, <c>maxGradNorm</c>.</param>
/// <param name="Findings">What the doctor found in this run.</param>
public sealed record DemoRun(string Label, IReadOnlyDictionary<string, double> Metrics, IReadOnlyList<Finding> Findings);

/// <summary>The outcome of a demo: the findings of the faulty run, and the runs before and after the fix.</summary>
/// <param name="Case">The case name.</param>
/// <param name="Before">The run with the fault.</param>
/// <param name="After">The run with the remedy applied, or null with <c>--no-fix</c>.</param>
/// <param name="Remedy">What the fix run changed, in code terms.</param>
public sealed record DemoResult(string Case, DemoRun Before, DemoRun? After, string Remedy)
{
    /// <summary>The findings of the faulty run.</summary>
    public IReadOnlyList<Finding> Findings => Before.Findings;
    /// <summary>False for a healthy reference case (nothing to fix; <see cref="After"/> is null).</summary>
    public bool Faulty { get; init; } = true;
}

/// <summary>A runnable case study: a small real training program with a known fault and its remedy.</summary>
public interface IDemoCase
{
    /// <summary>Name on the command line, e.g. <c>exploding-gradients</c>.</summary>
    string Name { get; }
    /// <summary>One line for the help text.</summary>
    string Description { get; }
    /// <summary>Runs the case.</summary>
    DemoResult Run(DemoOptions options);
    /// <summary>Steps per run in the <c>demo all</c> tour (unless <c>--steps</c> is given): 100, or what the case's finding
    /// needs to show (slow-convergence: six 50-step epochs).</summary>
    int TourSteps => 100;
}

/// <summary>Every demo case in this assembly (each a public class implementing <see cref="IDemoCase"/> with a parameterless constructor).</summary>
public static class DemoCatalog
{
    /// <summary>The cases, by name.</summary>
    public static IReadOnlyList<IDemoCase> All { get; } = typeof(DemoCatalog).Assembly.GetTypes()
        .Where(t => t is { IsClass: true, IsAbstract: false } && typeof(IDemoCase).IsAssignableFrom(t) && t.GetConstructor(Type.EmptyTypes) is not null)
        .Select(t => (IDemoCase)Activator.CreateInstance(t)!)
        .OrderBy(c => c.Name, StringComparer.Ordinal)
        .ToList();

    /// <summary>The case with this name, or null.</summary>
    public static IDemoCase? Find(string name) => All.FirstOrDefault(c => c.Name.Equals(name, StringComparison.OrdinalIgnoreCase));
}
