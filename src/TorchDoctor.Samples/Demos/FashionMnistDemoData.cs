using TorchDoctor.Data;
using TorchDoctor.Training;
using static TorchSharp.torch;

namespace TorchDoctor.Demos;

/// <summary>Fashion-MNIST (Debian's dataset-fashion-mnist) as demo tensors: train 60,000 and test 10,000 images in [0, 1].</summary>
internal static class FashionMnistDemoData
{
    /// <summary>Loads both splits; throws <see cref="DataUnavailableException"/> naming the package when the files are missing.</summary>
    public static (DemoData Train, DemoData Test) Load() => (Split(train: true), Split(train: false));

    private static DemoData Split(bool train)
    {
        var ds = FashionMnist.Load(train);
        using var scope = NewDisposeScope();
        var img = ds.Images;
        var images = tensor(img.Data, [img.Count, 1, img.Dims[1], img.Dims[2]], ScalarType.Byte).to(ScalarType.Float32).div_(255f);
        var labels = tensor(ds.AllLabels.ToArray(), ScalarType.Int64);
        return DemoData.FromTensors(images, labels, FashionMnist.ClassNames.Count, train ? "fashion-mnist train" : "fashion-mnist test");
    }
}
