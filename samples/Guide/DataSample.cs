using TorchDoctor.Data;
using TorchDoctor.Findings;
using static TorchSharp.torch;

namespace TorchDoctor.Guide;

/// <summary>Chapter 3: check what the loader will feed the model before training on it.</summary>
internal static class DataSample
{
    /// <summary>64 grey 8×8 images of 10 classes; <c>raw</c>: 0-255 pixels and one label of 12.</summary>
    private sealed class Pixels(bool raw) : TorchSharp.torch.utils.data.Dataset
    {
        public override long Count => 64;

        public override Dictionary<string, Tensor> GetTensor(long index)
        {
            using var gen = new Generator((ulong)index + 1);
            var image = rand(new long[] { 1, 8, 8 }, generator: gen) * 255;      // what a decoder gives
            long label = index % 10;
            if (raw) return new() { ["data"] = image, ["label"] = tensor(index == 5 ? 12L : label) };
            // The fix: scale to [0, 1], then Normalize with the training set's statistics (mean 0.5, std 0.2887 here).
            return new() { ["data"] = (image / 255 - 0.5) / 0.2887, ["label"] = tensor(label) };
        }
    }

    public static bool Run(TextWriter o)
    {
        var options = new DataCheckOptions { Classes = 10 };
        using var rawSet = new Pixels(raw: true);
        var bad = DatasetChecker.Check(rawSet, options);
        o.WriteLine("before:");
        foreach (var f in bad.Findings) o.WriteLine("  " + f);
        using var fixedSet = new Pixels(raw: false);
        var good = DatasetChecker.Check(fixedSet, options);
        o.WriteLine("after:");
        foreach (var f in good.Findings) o.WriteLine("  " + f);
        bool found = bad.Findings.Any(f => f.Code == DataCodes.UnscaledPixels.Code) && bad.Findings.Any(f => f.Code == DataCodes.LabelOutOfRange.Code);
        return found && !good.Findings.Any(f => f.Severity >= Severity.Warning);
    }
}
