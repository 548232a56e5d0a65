using System.Globalization;
using TorchDoctor.Findings;
using TorchDoctor.Observations;
using TorchSharp;
using static TorchSharp.torch;

namespace TorchDoctor.Training;

/// <summary>Options of <see cref="SanityChecks.Run"/>.</summary>
public sealed record SanityOptions
{
    /// <summary>Optimizer for the one-batch overfit (a fresh one; the user's optimizer is never touched). Default Adam 3e-3.</summary>
    public Func<IEnumerable<TorchSharp.Modules.Parameter>, optim.Optimizer>? Optimizer { get; init; }
    /// <summary>Training steps on the one batch. Default 100.</summary>
    public int OverfitSteps { get; init; } = 100;
    /// <summary>The overfit passes when the last loss is below this fraction of the first (default 0.2).</summary>
    public double OverfitTarget { get; init; } = 0.2;
}

/// <summary>What the sanity checks found and measured.</summary>
/// <param name="Findings">Findings, causes first.</param>
/// <param name="FirstLoss">Loss at the first step.</param>
/// <param name="LastLoss">Loss after the one-batch overfit.</param>
/// <param name="Steps">Steps of the overfit.</param>
public sealed record SanityReport(IReadOnlyList<Finding> Findings, double FirstLoss, double LastLoss, int Steps);

/// <summary>
/// The checks to run before training, in one call on one batch: the loss call (logits, target shape, label dtype), the
/// initial loss against ln C, every trainable parameter gets a gradient, batch independence (eval mode,
/// <c>autograd.grad</c> on the input) and a one-batch overfit. The model's weights, gradients, modes and torch's RNG are
/// restored afterwards (bit-identical); the overfit uses its own optimizer.
/// </summary>
public static class SanityChecks
{
    private static readonly HashSet<string> Kept =
    [
        ConvergenceCodes.InitialLossHigh.Code, ConvergenceCodes.ProbabilitiesIntoLogitLoss.Code, ConvergenceCodes.TargetBroadcast.Code,
        ConvergenceCodes.LabelDtype.Code, ConvergenceCodes.BatchMixing.Code, TrainingCodes.NonFiniteForward.Code, TrainingCodes.NonFiniteLoss.Code,
        TrainingCodes.NonFiniteBackward.Code,
    ];

    /// <summary>Runs every check on the batch (<paramref name="x"/>, <paramref name="y"/>) with the loss <paramref name="kind"/>.</summary>
    public static SanityReport Run(nn.Module<Tensor, Tensor> model, Tensor x, Tensor y, LossKind kind, SanityOptions? options = null)
    {
        ArgumentNullException.ThrowIfNull(model);
        ArgumentNullException.ThrowIfNull(x);
        ArgumentNullException.ThrowIfNull(y);
        var o = options ?? new SanityOptions();
        ArgumentOutOfRangeException.ThrowIfLessThan(o.OverfitSteps, 1);
        using var state = new LrFinder.TrainingState(model, null);
        var findings = new List<Finding>();
        var losses = new List<double>();
        try
        {
            var opt = (o.Optimizer ?? (ps => optim.Adam(ps, 3e-3)))(model.parameters());
            using var doctor = Doctor.Attach(model, opt, new DoctorOptions { SampleInterval = 1000 });
            model.train();
            for (int step = 0; step < o.OverfitSteps; step++)
            {
                using var scope = NewDisposeScope();
                doctor.BeginStep();
                opt.zero_grad();
                Tensor loss;
                try
                {
                    loss = doctor.Loss(model.call(x), y, kind);
                }
                catch (Exception e) when (e is System.Runtime.InteropServices.ExternalException or ArgumentException or InvalidOperationException)
                {
                    doctor.EndStep();
                    findings.AddRange(doctor.Findings.Where(f => Kept.Contains(f.Code)));
                    if (findings.Count == 0) throw;
                    return new SanityReport(findings, double.NaN, double.NaN, step);
                }
                loss.backward();
                doctor.AfterBackward(loss);
                if (step == 0) findings.AddRange(MissingGradients(model));
                opt.step();
                doctor.EndStep();
                losses.Add(doctor.LastStep!.Loss ?? double.NaN);
                if (!double.IsFinite(losses[^1])) break;
            }
            findings.InsertRange(0, doctor.Findings.Where(f => Kept.Contains(f.Code)));
            double first = losses[0], last = losses[^1];
            if (!(last <= o.OverfitTarget * first))
                findings.Add(Finding.Create(ConvergenceCodes.OneBatchOverfitFailed, null,
                    $"Trained {losses.Count} steps on one batch of {x.shape[0]}, the loss went from {TF(first)} to {TF(last)} ({TF(last / first * 100)}% of its start; a model that can learn gets below {TF(o.OverfitTarget * 100)}%).",
                    "A model must be able to memorise one batch: check the other sanity findings (loss call, labels, gradients), the labels' alignment with the inputs, and the LR (`LrFinder.Run(...)`); then capacity.",
                    new Dictionary<string, string> { ["first loss"] = TF(first), ["last loss"] = TF(last), ["steps"] = losses.Count.ToString(CultureInfo.InvariantCulture), ["batch"] = x.shape[0].ToString(CultureInfo.InvariantCulture) }));
            return new SanityReport(findings, first, last, losses.Count);
        }
        finally
        {
            state.Restore();
        }
    }

    private static string TF(double v) => Detectors.TrainingDetectors.F(v);

    private static IEnumerable<Finding> MissingGradients(nn.Module model)
    {
        foreach (var (name, p) in model.named_parameters())
        {
            if (!p.requires_grad) continue;
            var g = p.grad;
            bool none = g is null || g.IsInvalid;
            if (!none)
            {
                using var a = g!.abs();
                if (Probes.TensorStats.Sum(a) != 0) continue;
            }
            int dot = name.LastIndexOf('.');
            yield return Finding.Create(StructureCodes.NoGradient, dot < 0 ? ModuleNames.Root : name[..dot],
                none ? $"Parameter {name} received no gradient from the loss." : $"Parameter {name}'s gradient is exactly zero on this batch.",
                "Look for `.detach()`, `no_grad`, integer casts, or outputs computed but not used in forward; set `requires_grad = false` if it is meant to be frozen.",
                new Dictionary<string, string> { ["parameter"] = name, ["gradient"] = none ? "none" : "all zeros" }, 0);
        }
    }
}
