using TorchDoctor.Observations;
using static TorchSharp.torch;

namespace TorchDoctor.Data;

/// <summary>Reads a few images per class from a data set, as the model receives them, for a report's sample grid.</summary>
public static class DatasetSamples
{
    /// <summary>
    /// Up to <paramref name="perClass"/> images per class from the first <paramref name="scan"/> samples of
    /// <paramref name="dataset"/>: the image field (CHW, HWC or HW) of <paramref name="image"/> and labels from
    /// <paramref name="labelField"/>. Null when the field is not an image of 1 or 3 channels, or no sample could be read.
    /// Unreadable samples are skipped. Tensors are read inside a dispose scope.
    /// </summary>
    public static ImageSamples? PerClass(utils.data.Dataset dataset, FieldObservation image, string labelField, int perClass = 8, long scan = 2000)
    {
        ArgumentNullException.ThrowIfNull(dataset);
        ArgumentNullException.ThrowIfNull(image);
        ArgumentOutOfRangeException.ThrowIfLessThan(perClass, 1);
        if (image.Layout is not ("CHW" or "HWC" or "HW") || image.Channels is not (1 or 3)) return null;
        int c = (int)image.Channels.Value;
        var shape = image.Shape;
        int h = (int)(image.Layout == "CHW" ? shape[^2] : image.Layout == "HWC" ? shape[^3] : shape[^2]);
        int w = (int)(image.Layout == "CHW" ? shape[^1] : image.Layout == "HWC" ? shape[^2] : shape[^1]);
        if ((long)h * w * c > 1 << 20) return null;   // larger than 1 MPixel: not a thumbnail
        var counts = new Dictionary<long, int>();
        var items = new List<(long, float[])>();
        using var scope = NewDisposeScope();
        for (long i = 0, n = Math.Min(scan, dataset.Count); i < n; i++)
        {
            Dictionary<string, Tensor>? sample;
            try { sample = dataset.GetTensor(i); }
            catch (Exception e) when (e is not OutOfMemoryException) { continue; }
            if (sample is null || !sample.TryGetValue(image.Name, out var x) || !sample.TryGetValue(labelField, out var y)) continue;
            if (y.numel() != 1 || !x.shape.SequenceEqual(shape)) continue;
            long label = y.to_type(ScalarType.Int64).item<long>();
            if (counts.GetValueOrDefault(label) >= perClass) continue;
            var t = x.to_type(ScalarType.Float32);
            if (image.Layout == "HWC") t = t.permute(2, 0, 1);
            items.Add((label, t.contiguous().reshape(-1).data<float>().ToArray()));
            counts[label] = counts.GetValueOrDefault(label) + 1;
        }
        if (items.Count == 0) return null;
        return new ImageSamples(image.Name, c, h, w, items.OrderBy(it => it.Item1).ToList());
    }
}
