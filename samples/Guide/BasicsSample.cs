using TorchDoctor.Findings;
using TorchDoctor.Training;
using static TorchSharp.torch;
using static TorchSharp.torch.nn;

namespace TorchDoctor.Guide;

/// <summary>Chapter 1: the standard loop (zero_grad, forward, loss, backward, clip, step), looked at before and during training.</summary>
internal static class BasicsSample
{
    public static bool Run(TextWriter o)
    {
        var (x, y) = Data.Blobs(512, features: 20, classes: 3);
        var model = Sequential(("fc1", Linear(20, 64)), ("relu", ReLU()), ("fc2", Linear(64, 3)));

        // Look before you train: every layer ran, with the shapes and parameter counts you expect.
        o.WriteLine(model.Summary(1, 20).ToText());

        var optimizer = optim.Adam(model.parameters(), 1e-2);
        var clipper = new GradientClipper(model.parameters(), maxNorm: 5.0);   // clip_grad_norm_ that also keeps statistics
        using var doctor = model.AttachDoctor(optimizer);
        double first = double.NaN, last = double.NaN;
        for (int step = 0; step < 30; step++)
        {
            using var scope = NewDisposeScope();
            var (xb, yb) = Data.Batch(x, y, step, 64);
            doctor.BeginStep();
            optimizer.zero_grad();
            var loss = functional.cross_entropy(model.call(xb), yb);
            loss.backward();
            doctor.AfterBackward(loss);
            clipper.Clip();
            optimizer.step();
            doctor.EndStep();
            last = loss.item<float>();
            if (step == 0) first = last;
        }
        o.WriteLine($"loss {first:0.000} → {last:0.000}; gradient norm clipped in {clipper.ClippedFraction:P0} of steps (90th percentile norm {clipper.SuggestedMaxNorm:0.00})");
        foreach (var f in doctor.Findings) o.WriteLine(f);
        o.WriteLine($"doctor: {doctor.Findings.Count(f => f.Severity >= Severity.Warning)} warning(s)");
        return last < first / 4 && !doctor.Findings.Any(f => f.Severity >= Severity.Warning);
    }
}
