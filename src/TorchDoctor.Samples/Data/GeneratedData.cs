namespace TorchDoctor.Data;

/// <summary>Raw image classification data: 0–255 pixel values (as floats) and labels, before any pipeline step.</summary>
/// <param name="Pixels">One array of 0–255 values per sample.</param>
/// <param name="Labels">One class index per sample.</param>
/// <param name="SampleShape">Shape of one image, e.g. [1, 12, 12].</param>
/// <param name="Classes">Number of classes.</param>
public sealed record RawImageSet(List<float[]> Pixels, List<long> Labels, long[] SampleShape, int Classes)
{
    /// <summary>Number of samples.</summary>
    public int Count => Pixels.Count;

    /// <summary>
    /// The correct pipeline's output: pixels divided by 255 and normalised with <paramref name="mean"/> and
    /// <paramref name="std"/> (the training split's statistics after scaling), int64 labels.
    /// </summary>
    public InMemoryDataset Normalized(double mean, double std)
        => new(Pixels.Select(p => p.Select(v => (float)((v / 255.0 - mean) / std)).ToArray()).ToList(), Labels, SampleShape);

    /// <summary>The pixels as they are (0–255 floats), int64 labels: a pipeline that forgot to scale.</summary>
    public InMemoryDataset Unscaled() => new(Pixels, Labels, SampleShape);

    /// <summary>Mean and population std of all finite pixels after dividing by 255.</summary>
    public (double Mean, double Std) Statistics()
    {
        double sum = 0, sq = 0;
        long n = 0;
        foreach (var p in Pixels)
            foreach (var v in p)
            {
                if (!float.IsFinite(v)) continue;
                double x = v / 255.0;
                sum += x; sq += x * x; n++;
            }
        double mean = sum / n;
        return (mean, Math.Sqrt(Math.Max(0, sq / n - mean * mean)));
    }
}

/// <summary>
/// A small built-in image classification task (no download): each class is a fixed random pattern of Gaussian
/// blobs, each sample that pattern shifted by up to 2 pixels, with a random brightness and pixel noise, stored as whole 0–255 values like a
/// decoded 8-bit picture. Learnable to high accuracy by a small MLP in a few hundred steps.
/// </summary>
public static class GeneratedData
{
    /// <summary>Creates training and validation splits, class-interleaved (not sorted), with distinct samples.</summary>
    public static (RawImageSet Train, RawImageSet Validation) Create(int classes = 10, int trainPerClass = 200, int validationPerClass = 50, int size = 12, long seed = 0)
    {
        var rng = new Random(unchecked((int)seed * 7919 + 17));
        var prototypes = new float[classes][];
        for (int c = 0; c < classes; c++)
        {
            var p = new float[size * size];
            for (int b = 0; b < 3; b++)
            {
                double cx = rng.NextDouble() * size, cy = rng.NextDouble() * size, w = 1.5 + rng.NextDouble() * 2.5, a = 80 + rng.NextDouble() * 100;
                for (int y = 0; y < size; y++)
                    for (int x = 0; x < size; x++)
                        p[y * size + x] += (float)(a * Math.Exp(-((x - cx) * (x - cx) + (y - cy) * (y - cy)) / (2 * w * w)));
            }
            prototypes[c] = p;
        }
        RawImageSet Make(int perClass)
        {
            var pixels = new List<float[]>();
            var labels = new List<long>();
            for (int i = 0; i < perClass; i++)
                for (int c = 0; c < classes; c++)
                {
                    double gain = 0.7 + 0.6 * rng.NextDouble();
                    int dx = rng.Next(-2, 3), dy = rng.Next(-2, 3);
                    var s = new float[size * size];
                    for (int k = 0; k < s.Length; k++)
                    {
                        int x = Math.Clamp(k % size - dx, 0, size - 1), y = Math.Clamp(k / size - dy, 0, size - 1);
                        double noise = Math.Sqrt(-2 * Math.Log(1 - rng.NextDouble())) * Math.Cos(2 * Math.PI * rng.NextDouble()) * 60;
                        s[k] = (float)Math.Round(Math.Clamp(prototypes[c][y * size + x] * gain + 20 + noise, 0, 255));
                    }
                    pixels.Add(s);
                    labels.Add(c);
                }
            return new RawImageSet(pixels, labels, [1, size, size], classes);
        }
        return (Make(trainPerClass), Make(validationPerClass));
    }

    /// <summary>
    /// Fashion-MNIST as raw sets: the first <paramref name="train"/> training images and the first
    /// <paramref name="validation"/> test images (pixels 0–255). Throws <see cref="DataUnavailableException"/> when
    /// the package is not installed.
    /// </summary>
    public static (RawImageSet Train, RawImageSet Validation) FashionMnistSubset(int train = 6000, int validation = 1000, string? directory = null)
    {
        RawImageSet Take(bool isTrain, int n)
        {
            using var ds = FashionMnist.Load(isTrain, directory, scale: false);
            n = (int)Math.Min(n, ds.Count);
            return new RawImageSet(Enumerable.Range(0, n).Select(i => ds.PixelsAt(i)).ToList(),
                Enumerable.Range(0, n).Select(i => ds.LabelAt(i)).ToList(), ds.SampleShape, FashionMnist.Classes);
        }
        return (Take(true, train), Take(false, validation));
    }
}
