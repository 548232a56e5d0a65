using TorchDoctor.Observations;
using TorchDoctor.Probes;
using static TorchSharp.torch;

namespace TorchDoctor.Monitors;

/// <summary>
/// Built-in monitor: parameter gradients after backward (norm, mean |g|, zeros, NaN/Inf, weight norm) at sampled steps
/// (with <see cref="ProbeKinds.ParameterGradients"/>), and at any step where a non-finite value was seen; the global
/// gradient norm from them. With the NaN/Inf watch on, unsampled steps get one sum per gradient.
/// </summary>
internal sealed class ParameterMonitor(ProbeKinds kinds) : ITrainingMonitor
{
    private IReadOnlyList<MonitoredParameter> _params = [];

    public void Attach(MonitorHost host) => _params = host.Parameters;

    public void OnAfterBackward(StepContext step)
    {
        bool nonFinite = step.Loss is { } l && !double.IsFinite(l) || step.ActivationGradients.Any(g => g.NonFinite > 0) ||
                         step.NonFiniteWatch && !step.Sampled && !GradientsFinite();
        if (step.Sampled && (kinds & ProbeKinds.ParameterGradients) != 0 || nonFinite)
            step.Parameters = Observe(step.Step, step.ModulesEntered);
        if (step.Parameters.Count > 0)
        {
            double sq = step.Parameters.Where(p => p.HasGradient).Sum(p => p.GradNorm * p.GradNorm);
            step.GlobalGradNorm = Math.Sqrt(sq);
        }
    }

    /// <summary>One sum per parameter gradient: NaN/Inf anywhere makes it non-finite.</summary>
    private bool GradientsFinite()
    {
        foreach (var p in _params)
        {
            var g = p.Parameter.grad;
            if (g is not null && !g.IsInvalid && !double.IsFinite(TensorStats.Sum(g))) return false;
        }
        return true;
    }

    private List<ParameterObservation> Observe(long stepIndex, IReadOnlyDictionary<string, int> entered)
    {
        var list = new List<ParameterObservation>(_params.Count);
        var grads = _params.Select(p => p.Parameter.grad is { IsInvalid: false } g ? g : null).ToList();
        // Every parameter's gradient statistics and weight norm in one host read.
        var all = TensorStats.Parameters(grads, _params.Select(p => (Tensor)p.Parameter).ToList());
        for (int i = 0; i < _params.Count; i++)
        {
            var (name, module, p) = _params[i];
            bool has = grads[i] is not null;
            var stats = all[i];
            list.Add(new ParameterObservation
            {
                Step = stepIndex, Name = name, Module = module,
                ExecutionOrder = entered.TryGetValue(module, out var o) ? o : int.MaxValue,
                Rank = (int)p.dim(), Elements = p.numel(), RequiresGrad = p.requires_grad, HasGradient = has,
                GradNorm = stats.Norm, GradMeanAbs = stats.MeanAbs, GradZeroFraction = stats.ZeroFraction, GradNonFinite = stats.NonFinite,
                WeightNorm = stats.WeightNorm,
            });
        }
        return list;
    }
}
