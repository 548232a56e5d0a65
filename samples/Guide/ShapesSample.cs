using TorchDoctor.Inspection;
using static TorchSharp.torch;
using static TorchSharp.torch.nn;

namespace TorchDoctor.Guide;

/// <summary>Chapter 4: a shape error explained by module, rule and received shape, before a training run hits it.</summary>
internal static class ShapesSample
{
    public static bool Run(TextWriter o)
    {
        var noFlatten = Sequential(("fc1", Linear(784, 128)), ("relu", ReLU()), ("fc2", Linear(128, 10)));
        var before = ModelSummary.Run(noFlatten, new SummaryOptions { InputShapes = [[8, 1, 28, 28]], MeasureMemory = false });
        o.WriteLine("before: " + (before.Failure is { } f ? $"{f.Module} ({f.ModuleType}): {f.Rule}\n  fix: {f.Fix}" : "ran"));

        var withFlatten = Sequential(("flatten", Flatten()), ("fc1", Linear(784, 128)), ("relu", ReLU()), ("fc2", Linear(128, 10)));
        var after = ModelSummary.Run(withFlatten, new SummaryOptions { InputShapes = [[8, 1, 28, 28]], MeasureMemory = false });
        o.WriteLine("after: " + (after.Succeeded ? $"output {string.Join(" ", after.OutputShapes.Select(s => "[" + string.Join(", ", s) + "]"))}" : after.Failure!.Rule));
        return before.Failure?.Fix.Contains("flatten", StringComparison.Ordinal) == true && after.Succeeded;
    }
}
