using TorchDoctor.Profiling;
using static TorchSharp.torch;
using static TorchSharp.torch.nn;

namespace TorchDoctor.Guide;

/// <summary>Chapter 6: memory. Inference under no_grad() keeps no activations for a backward pass.</summary>
internal static class MemorySample
{
    public static bool Run(TextWriter o)
    {
        var model = Sequential(("fc1", Linear(512, 1024)), ("relu", ReLU()), ("fc2", Linear(1024, 1024)), ("relu2", ReLU()), ("fc3", Linear(1024, 10)));
        using var input = rand(256, 512);
        var cost = InferenceMemory.Measure(model, input);
        o.WriteLine($"kept alive by autograd with grad on: {cost.WithGradBytes / 1e6:0.00} MB; under no_grad(): {cost.NoGradBytes / 1e6:0.00} MB; " +
                    $"no_grad() saves {cost.SavedBytes / 1e6:0.00} MB per inference batch");

        // In-place operations (relu_, add_) reuse their input's buffer; never on a tensor autograd still needs.
        return cost.SavedBytes > 0;
    }
}
