using TorchSharp;

namespace TorchDoctor.Tests.Logs;

/// <summary>Training logs with known curves, written by TorchSharp's SummaryWriter.</summary>
internal static class SyntheticLogs
{
    /// <summary>Train loss falls throughout; validation loss (every 50 steps) bottoms out at <paramref name="onset"/> and rises after (when overfitting).</summary>
    public static void Write(string dir, bool overfit, int steps = 1000, int onset = 400, int seed = 1)
    {
        var w = torch.utils.tensorboard.SummaryWriter(dir);
        var rng = new Random(seed);
        for (int s = 0; s < steps; s++)
        {
            double train = 2.3 * Math.Exp(-s / 250.0) + 0.05 + 0.03 * (rng.NextDouble() - 0.5);
            w.add_scalar("Loss/train", (float)train, s);
            if (s % 50 == 0)
            {
                double val = overfit
                    ? 0.6 + 1.7 * Math.Exp(-s / 150.0) + (s > onset ? (s - onset) / 600.0 : 0)
                    : 0.3 + 2.0 * Math.Exp(-s / 250.0);
                w.add_scalar("Loss/validation", (float)(val + 0.005 * (rng.NextDouble() - 0.5)), s);
                w.add_scalar("Accuracy/validation", (float)(0.9 - val / 4), s);
            }
        }
    }
}
