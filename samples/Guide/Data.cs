using static TorchSharp.torch;

namespace TorchDoctor.Guide;

/// <summary>Generated data: the samples need no download.</summary>
internal static class Data
{
    /// <summary><paramref name="n"/> points of <paramref name="features"/> dimensions around one centre per class.</summary>
    public static (Tensor X, Tensor Y) Blobs(int n, int features, int classes, double spread = 1.0, long seed = 0)
    {
        using var gen = new Generator((ulong)seed);
        var centres = randn(new long[] { classes, features }, generator: gen) * 3;
        var y = randint(0, classes, new long[] { n }, generator: gen);
        var x = centres.index_select(0, y) + randn(new long[] { n, features }, generator: gen) * spread;
        return (x, y);
    }

    /// <summary>Rows of batch <paramref name="step"/> of <paramref name="size"/>, wrapping around.</summary>
    public static (Tensor X, Tensor Y) Batch(Tensor x, Tensor y, int step, int size)
    {
        long n = x.shape[0];
        long start = step * (long)size % n;
        if (start + size > n) start = 0;
        return (x.narrow(0, start, size), y.narrow(0, start, size));
    }
}
