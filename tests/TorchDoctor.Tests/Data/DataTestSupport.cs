using TorchDoctor.Data;
using Xunit;
using static TorchSharp.torch;

namespace TorchDoctor.Tests.Data;

/// <summary>A data set from a function, for synthetic faults.</summary>
internal sealed class LambdaDataset(long count, Func<long, Dictionary<string, Tensor>> get) : utils.data.Dataset
{
    public override long Count => count;
    public override Dictionary<string, Tensor> GetTensor(long index) => get(index);
}

/// <summary>A fact that is skipped, with the reason, when Debian's Fashion-MNIST files are not installed.</summary>
public sealed class FashionMnistFactAttribute : FactAttribute
{
    public FashionMnistFactAttribute()
    {
        if (!FashionMnist.IsAvailable())
            Skip = $"Fashion-MNIST is not installed in {FashionMnist.DefaultDirectory}: install the Debian package {FashionMnist.Package} (bash scripts/setup.sh --with-data)";
    }
}

/// <summary>A temporary folder deleted on dispose.</summary>
internal sealed class TempDir : IDisposable
{
    public string Path { get; } = Directory.CreateTempSubdirectory("torchdoctor-test-").FullName;
    public string File(string name) => System.IO.Path.Combine(Path, name);
    public void Dispose() { try { Directory.Delete(Path, true); } catch (IOException) { } }
}

internal static class Idx
{
    /// <summary>Writes n images of h×w (pixel = (i + k) % 256) and n labels (i % 10); returns the paths.</summary>
    public static (string Images, string Labels) WriteSet(TempDir dir, int n = 20, int h = 8, int w = 8, string suffix = "", int? labelCount = null)
    {
        var px = new byte[n * h * w];
        for (int i = 0; i < n; i++) for (int k = 0; k < h * w; k++) px[i * h * w + k] = (byte)((i * 7 + k) % 256);
        var images = dir.File($"images{suffix}-idx3-ubyte");
        IdxReader.Write(images, IdxElementType.UInt8, [n, h, w], px);
        int m = labelCount ?? n;
        var labels = dir.File($"labels{suffix}-idx1-ubyte");
        IdxReader.Write(labels, IdxElementType.UInt8, [m], Enumerable.Range(0, m).Select(i => (byte)(i % 10)).ToArray());
        return (images, labels);
    }
}
