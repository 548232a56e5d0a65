using TorchDoctor.Findings;
using TorchSharp;
using TorchSharp.Modules;
using static TorchSharp.torch;
using static TorchSharp.torch.nn;

namespace TorchDoctor.Guide;

/// <summary>Chapter 2: NaN/Inf. Where does the first non-finite value come from? The doctor watches every module's output.</summary>
internal static class ProblemsSample
{
    /// <summary>log(x) of ReLU features: -inf wherever a unit is 0 (with an offset of 1 it is log1p, finite).</summary>
    private sealed class LogFeatures(double offset) : Module<Tensor, Tensor>(nameof(LogFeatures))
    {
        public override Tensor forward(Tensor x) => (x + offset).log();
    }

    private static Sequential Model(double offset) => Sequential(
        ("fc", Linear(20, 64)), ("relu", ReLU()), ("log", new LogFeatures(offset)), ("head", Linear(64, 3)));

    private static List<Finding> Train(Sequential model, TextWriter o, string label)
    {
        var (x, y) = Data.Blobs(256, features: 20, classes: 3);
        var optimizer = optim.Adam(model.parameters(), 1e-3);
        using var doctor = model.AttachDoctor(optimizer);
        for (int step = 0; step < 10; step++)
        {
            using var scope = NewDisposeScope();
            var (xb, yb) = Data.Batch(x, y, step, 32);
            doctor.BeginStep();
            optimizer.zero_grad();
            var loss = functional.cross_entropy(model.call(xb), yb);
            loss.backward();
            doctor.AfterBackward(loss);
            optimizer.step();
            doctor.EndStep();
        }
        o.WriteLine($"{label}: {doctor.Findings.Count} finding(s)");
        foreach (var f in doctor.Findings) o.WriteLine("  " + f);
        return [.. doctor.Findings];
    }

    public static bool Run(TextWriter o)
    {
        var before = Train(Model(0), o, "before: log(x)");
        var after = Train(Model(1), o, "after: log1p(x)");
        bool named = before.Any(f => f.Code == TrainingCodes.NonFiniteForward.Code && f.Module == "log");
        bool quiet = !after.Any(f => f.Severity >= Severity.Warning);
        return named && quiet;
    }
}
