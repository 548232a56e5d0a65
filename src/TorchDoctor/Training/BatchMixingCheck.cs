using System.Globalization;
using System.Runtime.InteropServices;
using TorchDoctor.Detectors;
using TorchDoctor.Findings;
using TorchDoctor.Inspection;
using TorchDoctor.Probes;
using TorchSharp;
using static TorchSharp.torch;
using Module = TorchSharp.torch.nn.Module;

namespace TorchDoctor.Training;

/// <summary>
/// Does one sample's output depend on another sample's input? Runs the model once in eval mode (BatchNorm mixes a
/// batch by design in training mode) on a copy of the batch that requires grad, and takes
/// <c>autograd.grad(output_k[0].sum(), input)</c> for each module output k in execution order: the first module whose
/// sample-0 output has a non-zero gradient with respect to another sample's input is where the batch gets mixed.
/// Restores everything it touches: each module's train/eval mode and the RNG state; parameter <c>.grad</c> and
/// BatchNorm statistics are never touched (autograd.grad does not accumulate, eval mode does not update statistics).
/// </summary>
public static class BatchMixingCheck
{
    /// <summary>Relative size of the cross-sample gradient that counts as mixing (exact independence gives exactly 0).</summary>
    public const double Tolerance = 1e-6;
    /// <summary>
    /// The cross-sample gradient must be at least this fraction of the sample's own gradient. A layer that standardises by
    /// batch statistics depends on each other sample by about 1/N (‖·‖ ≈ own/√N, 0.18 at N = 32); a reshape across the
    /// batch makes the output depend on other samples as much as, or more than, on its own input. Default 0.5.
    /// </summary>
    public const double MixingRatio = 0.5;

    /// <summary>Runs the check on <paramref name="input"/> (batch-first). Returns the finding, or null when samples are independent (or the check does not apply).</summary>
    public static Finding? Run(Module model, Tensor input, long? step = null)
    {
        ArgumentNullException.ThrowIfNull(model);
        ArgumentNullException.ThrowIfNull(input);
        if (input.dim() < 1 || input.shape[0] < 2 || !input.is_floating_point()) return null;
        // Only models whose forward takes this one tensor: a two-input model (a Siamese pair) would get null for the
        // second input and throw inside the user's training loop.
        if (!model.GetType().GetMethods().Any(m => m.Name == "call" && m.GetParameters() is [{ ParameterType: var only }] && only == typeof(Tensor)))
            return null;
        var tree = ModuleTree.Build(model);
        var modes = tree.Nodes.Select(n => (n.Module, n.Module.training)).ToList();
        using var rng = torch.get_rng_state();
        var capture = new OutputCapture(tree);
        using var scope = NewDisposeScope();
        try
        {
            model.eval();
            using var hooks = ModuleHooks.Attach(tree.Nodes.Select(n => n.Module), capture);
            using var grad = enable_grad();
            var x = input.detach().clone().requires_grad_(true);
            long n = x.shape[0];
            var output = ModelInvoker.Call(model, [x]);
            // Sample 0's gradient with respect to its own input and, per other sample, with respect to theirs.
            (double Self, double Other, Tensor PerSample) Split(Tensor g)
            {
                var perSample = g.narrow(0, 1, n - 1).reshape(n - 1, -1).norm(1, false);
                return (TensorStats.Norm(g[0]), TensorStats.Norm(perSample), perSample);
            }
            // One backward pass at the model's output first: a batch mixed anywhere stays mixed at the output, so a healthy
            // model costs one partial backward instead of one per module (resnet18: ~60 passes, ~18 s at batch 8 on 2 cores).
            if (capture.Outputs.Count > 0 && output is Tensor final && final.dim() >= 1 && final.shape[0] == n && final.requires_grad)
            {
                var g0 = autograd.grad([final[0].sum()], [x], retain_graph: true, allow_unused: true)[0];
                if (g0 is not null && !g0.IsInvalid && Split(g0) is var (self0, other0, _) &&
                    double.IsFinite(self0) && double.IsFinite(other0) && other0 < MixingRatio * self0) return null;
            }
            foreach (var (path, type, t) in capture.Outputs)
            {
                if (t.dim() < 1 || t.shape[0] != n || !t.requires_grad) continue;
                var s = t[0].sum();
                var g = autograd.grad([s], [x], retain_graph: true, allow_unused: true)[0];
                if (g is null || g.IsInvalid) continue;
                var (self, other, others) = Split(g);
                if (!double.IsFinite(self) || !double.IsFinite(other) || other <= Tolerance * Math.Max(self, 1e-12) || other == 0 || other < MixingRatio * self) continue;   // NaN gradients say nothing about mixing
                long worst = others.argmax().item<long>() + 1;
                string where = ModuleNames.Display(path);
                return Finding.Create(ConvergenceCodes.BatchMixing, where,
                    $"Sample 0's output of {where} ({type}) depends on other samples' inputs (eval mode): ‖∂out[0]/∂x[1:]‖ = {TrainingDetectors.F(other)} vs ‖∂out[0]/∂x[0]‖ = {TrainingDetectors.F(self)}, most of it from sample {worst}. A view/reshape/permute mixes the batch dimension.",
                    $"In {where}'s forward keep the batch dimension first: `x.flatten(1)` or `x.view(x.shape[0], -1)` (not `x.view(-1, N)` or `x.view(C, -1).t()`), and `permute` with dim 0 staying at 0; never reshape across dim 0.",
                    new Dictionary<string, string>
                    {
                        ["cross-sample gradient"] = TrainingDetectors.F(other), ["own gradient"] = TrainingDetectors.F(self),
                        ["most mixed sample"] = worst.ToString(CultureInfo.InvariantCulture), ["batch"] = n.ToString(CultureInfo.InvariantCulture), ["module type"] = type,
                    }, step);
            }
            GC.KeepAlive(output);
            return null;
        }
        catch (Exception e) when (e is ExternalException or InvalidOperationException or ArgumentException)
        {
            return null;   // the model cannot run on this input: the summary/shape explainer reports that
        }
        finally
        {
            foreach (var (_, _, t) in capture.Outputs) t.Dispose();
            capture.Outputs.Clear();
            foreach (var (m, training) in modes) m.train(training);
            torch.set_rng_state(rng);
        }
    }

    private sealed class OutputCapture(ModuleTree tree) : IForwardObserver
    {
        public List<(string Path, string Type, Tensor Output)> Outputs { get; } = [];
        public void OnEnter(Module module, object?[] inputs) { }
        public object? OnExit(Module module, object?[] inputs, object? output)
        {
            if (output is Tensor t && !t.IsInvalid && t.is_floating_point() && tree.Find(module) is { } node)
                Outputs.Add((node.Path, node.TypeName, t.alias().DetachFromDisposeScope()));   // modules dispose their intermediates: keep our own handle
            return null;
        }
    }
}
