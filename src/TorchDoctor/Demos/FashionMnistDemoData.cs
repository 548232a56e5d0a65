using TorchDoctor.Training;

namespace TorchDoctor.Demos;

/// <summary>Fashion-MNIST for the demos (filled in with the data-set readers).</summary>
internal static class FashionMnistDemoData
{
    public static (DemoData Train, DemoData Test) Load()
        => throw new Data.DataUnavailableException("--data fashion-mnist is not wired up yet; use --data generated.");
}
