using TorchDoctor.Findings;
using TorchDoctor.Models;
using TorchDoctor.Observations;
using TorchDoctor.Training;
using TorchSharp;
using Xunit;
using static TorchSharp.torch;
using static TorchSharp.torch.nn;

namespace TorchDoctor.Tests.Convergence;

/// <summary>The remedies: accumulation, early stopping, warmup schedules, the LR range test, the sanity checks.</summary>
public class RemedyTests
{
    private static float[][] Weights(Module m) => m.parameters().Select(p => p.data<float>().ToArray()).ToArray();

    [Fact]
    public void Accumulated_gradient_equals_the_full_batch_gradient_including_a_partial_last_group()
    {
        torch.manual_seed(0);
        using var x = randn(10, 5);
        using var y = randint(3, [10]);
        using var full = Linear(5, 3);
        using var acc = Linear(5, 3);
        acc.load_state_dict(full.state_dict());
        // Full batch of 10, SGD lr 1: w ← w − mean-loss gradient.
        var o1 = optim.SGD(full.parameters(), 1.0);
        o1.zero_grad();
        functional.cross_entropy(full.call(x), y).backward();
        o1.step();
        // Micro-batches of 4, 4, 2 with microBatches: 4 (a partial group of 3), then Step().
        var o2 = optim.SGD(acc.parameters(), 1.0);
        var a = new GradientAccumulator(o2, 4);
        foreach (var (start, len) in new[] { (0, 4), (4, 4), (8, 2) })
        {
            a.Backward(functional.cross_entropy(acc.call(x.narrow(0, start, len)), y.narrow(0, start, len)), len);
            Assert.False(a.StepIfReady());
        }
        a.Step();
        Assert.Equal(1, a.Steps);
        var w1 = Weights(full);
        var w2 = Weights(acc);
        for (int i = 0; i < w1.Length; i++)
            for (int j = 0; j < w1[i].Length; j++) Assert.Equal(w1[i][j], w2[i][j], 5);
    }

    [Fact]
    public void Early_stopping_stops_after_patience_and_restores_the_best_epoch_weights()
    {
        using var m = Linear(2, 2);
        using var stop = new EarlyStopping(m, patience: 2);
        double[] val = [1.0, 0.8, 0.7, 0.75, 0.9];
        float[]? bestWeights = null;
        int epoch = 0;
        foreach (var v in val)
        {
            using (no_grad()) m.weight!.add_(1.0f);   // training changes the weights every epoch
            if (epoch == 2) bestWeights = m.weight!.data<float>().ToArray();
            bool s = stop.Update(v);
            Assert.Equal(epoch == 4, s);
            epoch++;
        }
        Assert.Equal(2, stop.BestEpoch);
        stop.RestoreBest();
        Assert.Equal(bestWeights, m.weight!.data<float>().ToArray());
    }

    [Fact]
    public void Warmup_then_plateau_and_warmup_then_cosine()
    {
        using var m = Linear(2, 2);
        var opt = optim.SGD(m.parameters(), 0.1);
        var s = WarmupScheduler.WithPlateau(opt, warmupSteps: 4, factor: 0.5, patience: 1);
        Assert.Equal(0.025, s.LearningRate, 12);
        for (int i = 0; i < 3; i++) s.Step();
        Assert.Equal(0.1, s.LearningRate, 12);
        s.Step();
        Assert.Equal(0.1, s.LearningRate, 12);
        Assert.False(s.EndEpoch(1.0));
        Assert.False(s.EndEpoch(1.0));   // 1 bad epoch = patience
        Assert.True(s.EndEpoch(1.0));    // 2 bad epochs: halve
        Assert.Equal(0.05, s.LearningRate, 12);
        var opt2 = optim.SGD(m.parameters(), 0.1);
        var c = WarmupScheduler.WithCosine(opt2, warmupSteps: 2, totalSteps: 12, minLr: 0.0);
        c.Step(); c.Step();
        Assert.Equal(0.1, c.LearningRate, 12);
        for (int i = 0; i < 5; i++) c.Step();
        Assert.Equal(0.05, c.LearningRate, 12);   // half-way through the decay
        for (int i = 0; i < 5; i++) c.Step();
        Assert.Equal(0.0, c.LearningRate, 12);
    }

    private static (List<(Tensor, Tensor)> Batches, DemoData Data) Batches(int n, int batch)
    {
        var data = DemoData.Generated(n * batch, 4);
        return (data.Batches(batch, 0).ToList(), data);
    }

    [Fact]
    public void Lr_finder_restores_weights_optimizer_state_and_rng_bit_identically()
    {
        var (batches, data) = Batches(10, 32);
        using var _ = data;
        torch.manual_seed(5);
        using var model = new SmallCnn();
        var opt = optim.Adam(model.parameters(), 1e-3);
        // Give Adam some state first.
        foreach (var (x, y) in batches.Take(3)) { opt.zero_grad(); functional.cross_entropy(model.call(x), y).backward(); opt.step(); }
        var before = Weights(model);
        var rng = torch.get_rng_state().data<byte>().ToArray();
        var r = LrFinder.Run(model, opt, batches, (o, y) => functional.cross_entropy(o, y), new LrFinderOptions { Steps = 30, StartLr = 1e-5, EndLr = 10 });
        Assert.True(r.LearningRates.Count > 5);
        Assert.Equal(before, Weights(model));
        Assert.Equal(rng, torch.get_rng_state().data<byte>().ToArray());
        Assert.Equal(1e-3, opt.ParamGroups.First().LearningRate);
        // Optimizer state: the next step from here equals the next step of an untouched twin.
        torch.manual_seed(5);
        using var twin = new SmallCnn();
        var opt2 = optim.Adam(twin.parameters(), 1e-3);
        foreach (var (x, y) in batches.Take(3)) { opt2.zero_grad(); functional.cross_entropy(twin.call(x), y).backward(); opt2.step(); }
        foreach (var (m, o) in new[] { ((Module<Tensor, Tensor>)model, opt), (twin, opt2) })
        {
            o.zero_grad();
            functional.cross_entropy(m.call(batches[4].Item1), batches[4].Item2).backward();
            o.step();
        }
        Assert.Equal(Weights(twin), Weights(model));
        foreach (var (x, y) in batches) { x.Dispose(); y.Dispose(); }
    }

    [Fact]
    public void Lr_finder_suggestion_is_in_a_sane_range_on_several_models()
    {
        var (batches, data) = Batches(12, 64);
        using var _ = data;
        var results = new List<(string, double)>();
        foreach (var (name, make, opt) in new (string, Func<Module<Tensor, Tensor>>, Func<Module<Tensor, Tensor>, optim.Optimizer>)[]
        {
            ("cnn-adam", () => new SmallCnn(), m => optim.Adam(m.parameters(), 1e-3)),
            ("mlp-adam", () => Sequential(Flatten(), Linear(784, 128), ReLU(), Linear(128, 10)), m => optim.Adam(m.parameters(), 1e-3)),
            ("mlp-sgd", () => Sequential(Flatten(), Linear(784, 128), ReLU(), Linear(128, 10)), m => optim.SGD(m.parameters(), 0.01)),
        })
        {
            torch.manual_seed(1);
            using var m = make();
            var r = LrFinder.Run(m, opt(m), batches, (o, y) => functional.cross_entropy(o, y), new LrFinderOptions { Steps = 60 });
            results.Add((name, r.Suggestion));
            // The suggestion is a decade below the smoothed minimum, and the smoothed loss there is below the start.
            int i = r.LearningRates.ToList().FindLastIndex(lr => lr <= r.Suggestion);
            Assert.True(r.Smoothed[i] < r.Smoothed[0], $"{name}: smoothed loss at the suggestion {r.Smoothed[i]} is not below the start {r.Smoothed[0]}");
        }
        var d = results.ToDictionary();
        Assert.InRange(d["cnn-adam"], 1e-4, 3e-2);
        Assert.InRange(d["mlp-adam"], 1e-4, 3e-2);
        Assert.InRange(d["mlp-sgd"], 1e-3, 1.0);
        Assert.True(d["mlp-sgd"] > d["mlp-adam"], "SGD tolerates a larger LR than Adam");
        foreach (var (x, y) in batches) { x.Dispose(); y.Dispose(); }
    }

    [Fact]
    public void Sanity_checks_pass_a_sound_model_and_restore_it()
    {
        using var data = DemoData.Generated(64, 9);
        torch.manual_seed(2);
        using var model = new SmallCnn();
        var before = Weights(model);
        var r = SanityChecks.Run(model, data.Images.narrow(0, 0, 32), data.Labels.narrow(0, 0, 32), LossKind.CrossEntropy, new SanityOptions { OverfitSteps = 60 });
        Assert.Empty(r.Findings);
        Assert.True(r.LastLoss < 0.1 * r.FirstLoss);
        Assert.Equal(before, Weights(model));
    }

    [Fact]
    public void Sanity_checks_find_softmax_logits_batch_mixing_and_a_dead_end()
    {
        using var data = DemoData.Generated(64, 9);
        torch.manual_seed(2);
        using var model = LoopMistakeTests.Mlp(flatten: new MixingFlatten(), head: Softmax(1));
        var r = SanityChecks.Run(model, data.Images.narrow(0, 0, 32), data.Labels.narrow(0, 0, 32), LossKind.CrossEntropy, new SanityOptions { OverfitSteps = 60 });
        var codes = r.Findings.Select(f => f.Code).ToList();
        Assert.Contains(ConvergenceCodes.ProbabilitiesIntoLogitLoss.Code, codes);
        Assert.Contains(ConvergenceCodes.BatchMixing.Code, codes);
        Assert.Contains(ConvergenceCodes.OneBatchOverfitFailed.Code, codes);   // the softmax floor (1.46) stops it
    }
}
