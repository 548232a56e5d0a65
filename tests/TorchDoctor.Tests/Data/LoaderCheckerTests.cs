using TorchDoctor.Data;
using Xunit;
using static TorchSharp.torch;
using DataLoader = TorchSharp.Modules.DataLoader;

namespace TorchDoctor.Tests.Data;

public class LoaderCheckerTests
{
    private static LambdaDataset Sorted(long n, int classes) => new(n, i => new Dictionary<string, Tensor>
    {
        ["data"] = full(new long[] { 4 }, (float)i),
        ["label"] = tensor(i * classes / n, ScalarType.Int64),
    });

    [Fact]
    public void Unshuffled_loader_over_sorted_labels_is_found_and_shuffling_clears_it()
    {
        using var ds = Sorted(1000, 10);
        using (var off = new DataLoader(ds, 32, shuffle: false, disposeDataset: false))
        {
            var r = LoaderChecker.Check(off);
            Assert.False(r.Observation.Shuffled);
            var f = r.Findings.Single(x => x.Code == "TD3019");
            Assert.Equal("loader", f.Module);
            Assert.Contains("batches 0–2 only label 0", f.Message);
        }
        using (var on = new DataLoader(ds, 32, shuffle: true, seed: 3, disposeDataset: false))
        {
            var r = LoaderChecker.Check(on);
            Assert.True(r.Observation.Shuffled);
            Assert.DoesNotContain(r.Findings, x => x.Code == "TD3019");
        }
    }

    [Fact]
    public void Batch_size_last_batch_and_drop_last()
    {
        using var ds = Sorted(97, 1);
        using var dl = new DataLoader(ds, 32, shuffle: true, seed: 1, disposeDataset: false);
        var r = LoaderChecker.Check(dl);
        Assert.Equal(4, r.Observation.Batches);
        Assert.Equal(1, r.Observation.LastBatchSize);
        Assert.Equal(4, r.Observation.BatchesRead);
        Assert.Equal(3, r.Findings.Single(f => f.Code == "TD3018").Step);
        using var big = new DataLoader(ds, 128, drop_last: true, disposeDataset: false);
        var b = LoaderChecker.Check(big);
        Assert.Equal(0, b.Observation.Batches);
        Assert.Equal(TorchDoctor.Findings.Severity.Error, b.Findings.Single(f => f.Code == "TD3017").Severity);
    }

    [Fact]
    public void A_batch_that_cannot_be_collated_is_named()
    {
        using var ds = new LambdaDataset(64, i => new Dictionary<string, Tensor>
        {
            ["data"] = zeros(i == 40 ? 5 : 4),
            ["label"] = tensor(i % 2, ScalarType.Int64),
        });
        using var dl = new DataLoader(ds, 16, disposeDataset: false);
        var f = LoaderChecker.Check(dl).Findings.Single(x => x.Code == "TD3020");
        Assert.Equal(2, f.Step);
        Assert.Equal(TorchDoctor.Findings.Severity.Error, f.Severity);
    }

    [Fact]
    public void A_slow_loader_is_the_bottleneck()
    {
        using var ds = new LambdaDataset(64, i =>
        {
            Thread.Sleep(2);
            return new Dictionary<string, Tensor> { ["data"] = zeros(4), ["label"] = tensor(i % 2, ScalarType.Int64) };
        });
        using var dl = new DataLoader(ds, 8, disposeDataset: false);
        var (obs, findings) = LoaderChecker.CheckThroughput(dl, batch => { _ = batch["data"].sum().item<float>(); }, steps: 4);
        Assert.Equal(4, obs.Steps);
        Assert.True(obs.WaitFraction > 0.5, $"wait fraction {obs.WaitFraction}");
        var f = findings.Single();
        Assert.Equal("TD3021", f.Code);
        Assert.Contains("num_worker", f.Advice);
    }
}
