namespace TorchDoctor.Data;

/// <summary>
/// Fashion-MNIST (Zalando; 60,000 training and 10,000 test images of 28×28 grey pixels, 10 classes) from the
/// gzipped IDX files of Debian's <c>dataset-fashion-mnist</c> package, read by TorchDoctor's own IDX reader.
/// </summary>
public static class FashionMnist
{
    /// <summary>Where Debian's package puts the files.</summary>
    public const string DefaultDirectory = "/usr/share/datasets/fashion-mnist";

    /// <summary>The Debian package that provides the files.</summary>
    public const string Package = "dataset-fashion-mnist";

    /// <summary>The ten class names, by label.</summary>
    public static IReadOnlyList<string> ClassNames { get; } =
        ["T-shirt/top", "Trouser", "Pullover", "Dress", "Coat", "Sandal", "Shirt", "Sneaker", "Bag", "Ankle boot"];

    /// <summary>Number of classes.</summary>
    public const int Classes = 10;

    /// <summary>True when the four files are in <paramref name="directory"/> (default: Debian's location).</summary>
    public static bool IsAvailable(string? directory = null)
    {
        var dir = directory ?? DefaultDirectory;
        var (a, b) = Files(dir, true);
        var (c, d) = Files(dir, false);
        return new[] { a, b, c, d }.All(File.Exists);
    }

    /// <summary>
    /// Loads the training (60,000) or test (10,000) split. Throws <see cref="DataUnavailableException"/> naming the
    /// package when the files are not there, and <see cref="DataFileException"/> when they are corrupt.
    /// </summary>
    public static IdxDataset Load(bool train, string? directory = null, bool scale = true)
    {
        var dir = directory ?? DefaultDirectory;
        var (images, labels) = Files(dir, train);
        var missing = new[] { images, labels }.Where(f => !File.Exists(f)).ToList();
        if (missing.Count > 0)
            throw new DataUnavailableException(
                $"Fashion-MNIST is not installed: {string.Join(" and ", missing)} {(missing.Count == 1 ? "is" : "are")} missing. " +
                $"Install the Debian package {Package} (sudo apt-get install {Package}), or pass the folder that holds " +
                "train-images-idx3-ubyte.gz, train-labels-idx1-ubyte.gz, t10k-images-idx3-ubyte.gz and t10k-labels-idx1-ubyte.gz.");
        return IdxDataset.Load(images, labels, scale);
    }

    private static (string Images, string Labels) Files(string dir, bool train)
    {
        var prefix = train ? "train" : "t10k";
        return (Pick(dir, $"{prefix}-images-idx3-ubyte"), Pick(dir, $"{prefix}-labels-idx1-ubyte"));
    }

    private static string Pick(string dir, string name)
    {
        var gz = Path.Combine(dir, name + ".gz");
        var plain = Path.Combine(dir, name);
        return File.Exists(gz) || !File.Exists(plain) ? gz : plain;
    }
}
