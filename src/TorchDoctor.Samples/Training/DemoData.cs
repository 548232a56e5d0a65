using static TorchSharp.torch;

namespace TorchDoctor.Training;

/// <summary>
/// A small labelled image set held in two tensors, with seeded shuffled batches. <see cref="Generated"/>
/// builds the built-in one: 10 classes of 1×28×28 images made from smooth class prototypes plus noise,
/// learnable in a few hundred steps, no files needed.
/// </summary>
public sealed class DemoData : IDisposable
{
    private DemoData(Tensor images, Tensor labels, int classes, string name)
    {
        Images = images;
        Labels = labels;
        Classes = classes;
        Name = name;
    }

    /// <summary>Images [N, 1, 28, 28], float32 in [0, 1].</summary>
    public Tensor Images { get; }
    /// <summary>Labels [N], int64.</summary>
    public Tensor Labels { get; }
    /// <summary>Number of classes.</summary>
    public int Classes { get; }
    /// <summary>Where the data came from.</summary>
    public string Name { get; }
    /// <summary>Samples.</summary>
    public long Count => Labels.shape[0];

    /// <summary>Wraps existing tensors (they are owned by the result from now on).</summary>
    public static DemoData FromTensors(Tensor images, Tensor labels, int classes, string name)
        => new(images.DetachFromDisposeScope(), labels.DetachFromDisposeScope(), classes, name);

    /// <summary>The built-in data set: <paramref name="count"/> samples, deterministic for a seed.</summary>
    public static DemoData Generated(int count = 4096, long seed = 0, int classes = 10)
    {
        using var scope = NewDisposeScope();
        using var gen = new Generator((ulong)(seed * 7919 + 17));
        using var protoGen = new Generator(12345);   // the classes are the same for every seed
        var protos = rand([classes, 1, 28, 28], generator: protoGen);
        protos = nn.functional.avg_pool2d(protos, 7, stride: 1, padding: 3);
        var mn = protos.amin([1, 2, 3], keepdim: true);
        var mx = protos.amax([1, 2, 3], keepdim: true);
        protos = (protos - mn) / (mx - mn);
        var labels = randint(classes, [count], generator: gen, dtype: ScalarType.Int64);
        var images = (protos.index_select(0, labels) + 0.35f * randn([count, 1, 28, 28], generator: gen)).clamp(0, 1);
        return new DemoData(images.DetachFromDisposeScope(), labels.DetachFromDisposeScope(), classes, "generated");
    }

    /// <summary>The first <paramref name="perClass"/> images of each class, as the model receives them (for a sample grid).</summary>
    public Observations.ImageSamples SamplesPerClass(int perClass = 8)
    {
        using var scope = NewDisposeScope();
        var labels = Labels.data<long>().ToArray();
        var items = new List<(long, float[])>();
        for (int c = 0; c < Classes; c++)
            foreach (var i in Enumerable.Range(0, labels.Length).Where(i => labels[i] == c).Take(perClass))
                items.Add((c, Images[i].reshape(-1).data<float>().ToArray()));
        var shape = Images.shape;
        return new Observations.ImageSamples("images", (int)shape[1], (int)shape[2], (int)shape[3], items);
    }

    /// <summary>Seeded shuffled mini-batches for one epoch (last partial batch dropped). The caller disposes each batch (or uses a dispose scope).</summary>
    public IEnumerable<(Tensor X, Tensor Y)> Batches(int batchSize, long seed)
    {
        using var gen = new Generator((ulong)seed);
        var order = randperm(Count, generator: gen);
        try
        {
            for (long i = 0; i + batchSize <= Count; i += batchSize)
            {
                using var idx = order.narrow(0, i, batchSize);
                yield return (Images.index_select(0, idx), Labels.index_select(0, idx));
            }
        }
        finally
        {
            order.Dispose();
        }
    }

    /// <summary>An endless stream of batches over epochs with seeds seed, seed+1, …</summary>
    public IEnumerable<(Tensor X, Tensor Y)> Forever(int batchSize, long seed)
    {
        for (long epoch = 0; ; epoch++)
            foreach (var b in Batches(batchSize, seed * 1000 + epoch))
                yield return b;
    }

    /// <summary>The mean and standard deviation of every pixel of the set (a Normalize transform's statistics).</summary>
    public (double Mean, double Std) PixelStats()
    {
        using var scope = NewDisposeScope();
        return (Images.mean().item<float>(), Images.std().item<float>());
    }

    /// <summary>A copy whose images are standardised with <paramref name="mean"/> and <paramref name="std"/> (usually the training set's <see cref="PixelStats"/>).</summary>
    public DemoData Standardized(double mean, double std)
    {
        using var scope = NewDisposeScope();
        return FromTensors((Images - mean) / std, Labels.clone(), Classes, $"{Name} (standardised: mean {mean:G3}, std {std:G3})");
    }

    /// <summary>Splits off the last <paramref name="count"/> samples (e.g. a validation set).</summary>
    public (DemoData Train, DemoData Held) Split(long count)
    {
        var n = Count - count;
        return (new DemoData(Images.narrow(0, 0, n), Labels.narrow(0, 0, n), Classes, Name),
                new DemoData(Images.narrow(0, n, count), Labels.narrow(0, n, count), Classes, Name));
    }

    /// <summary>Frees the tensors.</summary>
    public void Dispose()
    {
        Images.Dispose();
        Labels.Dispose();
    }
}
