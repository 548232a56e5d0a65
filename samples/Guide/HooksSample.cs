using TorchDoctor.Reporting;
using TorchDoctor.Profiling;
using static TorchSharp.torch;
using static TorchSharp.torch.nn;

namespace TorchDoctor.Guide;

/// <summary>Chapter 5: a forward hook of your own, then the per-module profiler (TorchSharp has no torch.profiler).</summary>
internal static class HooksSample
{
    public static bool Run(TextWriter o)
    {
        var conv = Conv2d(1, 8, 3, padding: 1);
        var fc = Linear(8 * 14 * 14, 10);
        var model = Sequential(("conv", conv), ("relu", ReLU()), ("pool", MaxPool2d(2)), ("flatten", Flatten()), ("fc", fc));

        // Hooks fire only when a module is run through call() (Sequential does that for its children).
        int fired = 0;
        var h1 = conv.register_forward_hook((m, input, output) => { fired++; o.WriteLine($"hook: conv output [{string.Join(", ", output.shape)}]"); return output; });
        var h2 = fc.register_forward_hook((m, input, output) => { fired++; o.WriteLine($"hook: fc output [{string.Join(", ", output.shape)}]"); return output; });
        using (no_grad()) model.call(rand(4, 1, 28, 28));
        h1.remove();
        h2.remove();

        // The profiler: forward and backward time per module, step phases, named regions.
        var optimizer = optim.SGD(model.parameters(), 0.01);
        using var profiler = Profiler.Attach(model);
        for (int step = 0; step < 6; step++)
        {
            using var scope = NewDisposeScope();
            profiler.BeginStep();
            Tensor x, y, output, loss;
            using (profiler.Region("make batch")) { x = rand(32, 1, 28, 28); y = randint(0, 10, new long[] { 32 }); }
            using (profiler.Phase(StepPhase.Forward)) output = model.call(x);
            using (profiler.Phase(StepPhase.Loss)) loss = functional.cross_entropy(output, y);
            using (profiler.Phase(StepPhase.Backward)) loss.backward();
            using (profiler.Phase(StepPhase.OptimizerStep)) { optimizer.step(); optimizer.zero_grad(); }
            profiler.EndStep();
        }
        var report = profiler.Report();
        o.WriteLine(new ProfileTextExporter(new ProfileExportSettings { RowLimit = 8 }).Render(report));
        return fired == 2 && report.Steps.Count > 0;
    }
}
