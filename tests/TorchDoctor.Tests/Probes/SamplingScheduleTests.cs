using TorchDoctor.Probes;
using Xunit;

namespace TorchDoctor.Tests.Probes;

/// <summary>The sampling schedule on synthetic step streams: no tensors, only the decisions.</summary>
public class SamplingScheduleTests
{
    /// <summary>Runs <paramref name="steps"/> steps, calling <paramref name="feed"/> after each decision; returns the sampled steps.</summary>
    private static List<long> Sampled(SamplingSchedule s, long steps, Action<long, bool>? feed = null)
    {
        var list = new List<long>();
        for (long i = 0; i < steps; i++)
        {
            bool sampled = s.IsSampled(i);
            if (sampled) list.Add(i);
            feed?.Invoke(i, sampled);
        }
        return list;
    }

    [Fact]
    public void Dense_start_then_geometric_back_off_to_the_interval()
    {
        var sampled = Sampled(new SamplingSchedule(100), 600);
        Assert.Equal([0, 1, 2, 3, 4, 5, 6, 7, 9, 13, 21, 37, 69, 133, 233, 333, 433, 533], sampled);
    }

    [Fact]
    public void Interval_one_samples_every_step_and_short_intervals_cap_the_gap()
    {
        Assert.Equal(50, Sampled(new SamplingSchedule(1), 50).Count);
        var s = Sampled(new SamplingSchedule(5), 40);
        var gaps = s.Zip(s.Skip(1), (a, b) => b - a).ToList();
        Assert.True(gaps.All(g => g <= 5));
        Assert.Equal(5, gaps[^1]);
    }

    [Fact]
    public void A_steady_loss_keeps_the_schedule_sparse_and_a_spike_makes_it_dense()
    {
        var quiet = new SamplingSchedule(100);
        var baseline = Sampled(quiet, 2000, (i, _) => quiet.ObserveLoss(i, 1.0 + 0.2 * Math.Sin(i)));
        Assert.Null(quiet.LastSuspicion);
        Assert.Equal(Sampled(new SamplingSchedule(100), 2000), baseline);

        var s = new SamplingSchedule(100);
        var sampled = Sampled(s, 2000, (i, _) => s.ObserveLoss(i, i == 1000 ? 5.0 : 1.0));
        Assert.Contains("loss 5", s.LastSuspicion);
        // Steps 1001–1008 are sampled, then the back-off restarts: 1010, 1014, …
        Assert.All(Enumerable.Range(1001, 8), i => Assert.Contains(i, sampled));
        Assert.Contains(1010L, sampled);
        Assert.DoesNotContain(1009L, sampled);
    }

    [Fact]
    public void A_gradient_norm_jump_makes_the_next_steps_dense()
    {
        var s = new SamplingSchedule(100);
        var sampled = Sampled(s, 1000, (i, sampled) => { if (sampled) s.ObserveGradNorm(i, i >= 533 ? 10 : 1); });
        Assert.Contains("global gradient norm 10", s.LastSuspicion);
        Assert.All(Enumerable.Range(534, 8), i => Assert.Contains(i, sampled));
        // Only the jump is suspicious: a norm that stays high is the new normal.
        Assert.DoesNotContain(560L, sampled);
    }

    [Fact]
    public void A_candidate_finding_gets_consecutive_sampled_steps_to_persist()
    {
        var s = new SamplingSchedule(100);
        var sampled = Sampled(s, 400, (i, sampled) => { if (i == 233) Assert.True(s.Suspect(i, "candidate dead-relu at relu1")); });
        Assert.Equal([233L, 234, 235, 236], sampled.Where(x => x is >= 233 and <= 236));
        Assert.Equal("candidate dead-relu at relu1", s.LastSuspicion);
    }

    [Fact]
    public void Suspicion_is_bounded_by_its_budget()
    {
        // A run that is suspicious at every sampled step: dense windows stop once they pass 5% of the steps (plus two windows).
        var s = new SamplingSchedule(100);
        var sampled = Sampled(s, 10_000, (i, sampled) => { if (sampled) s.Suspect(i, "always"); });
        // (without the budget all 10,000 would be sampled; the back-off between windows adds a few per window).
        var fixedCount = Sampled(new SamplingSchedule(100), 10_000).Count;
        Assert.InRange(sampled.Count, 0.05 * 10_000, 0.10 * 10_000);
        Assert.True(sampled.Count > 5 * fixedCount);
    }

    [Fact]
    public void Non_finite_losses_are_left_to_the_nan_watch()
    {
        var s = new SamplingSchedule(100);
        Sampled(s, 300, (i, _) => s.ObserveLoss(i, i > 200 ? double.NaN : 1.0));
        Assert.Null(s.LastSuspicion);
    }
}
