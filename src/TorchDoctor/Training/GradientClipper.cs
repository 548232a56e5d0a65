using TorchDoctor.Observations;
using static TorchSharp.torch;
using Parameter = TorchSharp.Modules.Parameter;

namespace TorchDoctor.Training;

/// <summary>
/// <c>clip_grad_norm_</c> with evidence: it clips as TorchSharp does (same call, same numbers) and keeps the
/// pre-clip global norms in a bounded window, so you can see how often it clips and pick <c>max_norm</c>
/// from the measured distribution instead of guessing.
/// </summary>
public sealed class GradientClipper
{
    private readonly IReadOnlyList<Parameter> _parameters;
    private readonly Window<double> _norms;

    /// <summary>Clips the gradients of <paramref name="parameters"/> to a global L2 norm of <paramref name="maxNorm"/>.</summary>
    public GradientClipper(IEnumerable<Parameter> parameters, double maxNorm, int window = 1000)
    {
        ArgumentOutOfRangeException.ThrowIfNegativeOrZero(maxNorm);
        _parameters = parameters.ToList();
        MaxNorm = maxNorm;
        _norms = new Window<double>(window);
    }

    /// <summary>The clipping threshold.</summary>
    public double MaxNorm { get; set; }
    /// <summary>Calls of <see cref="Clip"/>.</summary>
    public long Steps { get; private set; }
    /// <summary>Calls where the norm exceeded <see cref="MaxNorm"/> (the gradients were scaled down).</summary>
    public long Clipped { get; private set; }
    /// <summary>Fraction of steps clipped.</summary>
    public double ClippedFraction => Steps == 0 ? 0 : (double)Clipped / Steps;
    /// <summary>Steps whose pre-clip norm was NaN/Inf.</summary>
    public long NonFinite { get; private set; }

    /// <summary>Clips (call between backward and optimizer.step); returns the pre-clip global norm.</summary>
    public double Clip()
    {
        var norm = nn.utils.clip_grad_norm_(_parameters, MaxNorm);
        Steps++;
        if (!double.IsFinite(norm)) NonFinite++;
        else
        {
            _norms.Add(norm);
            if (norm > MaxNorm) Clipped++;
        }
        return norm;
    }

    /// <summary>The <paramref name="q"/>-quantile (0–1) of the recent pre-clip norms, or NaN before the first step.</summary>
    public double Quantile(double q)
    {
        var a = _norms.Items().OrderBy(x => x).ToArray();
        if (a.Length == 0) return double.NaN;
        var pos = Math.Clamp(q, 0, 1) * (a.Length - 1);
        int lo = (int)Math.Floor(pos), hi = (int)Math.Ceiling(pos);
        return a[lo] + (a[hi] - a[lo]) * (pos - lo);
    }

    /// <summary>
    /// A suggested <c>max_norm</c>: the 90th percentile of recent norms, so routine steps pass untouched and
    /// only the outliers (the spikes that destabilise training) are clipped.
    /// </summary>
    public double SuggestedMaxNorm => Quantile(0.9);

    /// <summary>One line: how often it clipped and the norm distribution.</summary>
    public override string ToString()
    {
        var c = System.Globalization.CultureInfo.InvariantCulture;
        return string.Create(c, $"clipped {Clipped} of {Steps} steps ({ClippedFraction:P0}) at max_norm {MaxNorm:G3}; pre-clip norm p50 {Quantile(0.5):G3}, p90 {Quantile(0.9):G3}, max {Quantile(1):G3}")
            + (NonFinite > 0 ? string.Create(c, $"; {NonFinite} non-finite") : "") + string.Create(c, $"; suggested max_norm {SuggestedMaxNorm:G3}");
    }
}
