using TorchSharp;
using static TorchSharp.torch;

namespace TorchDoctor.Data;

/// <summary>
/// A TorchSharp <see cref="utils.data.Dataset"/> over a pair of IDX files (images and labels), e.g. MNIST or
/// Fashion-MNIST. Each sample is <c>{"data": float32 [1, H, W], "label": int64 scalar}</c>; uint8 pixels are
/// scaled to [0, 1] by dividing by 255 (as torchvision's ToTensor does) unless <see cref="Scale"/> is false.
/// </summary>
public sealed class IdxDataset : utils.data.Dataset
{
    /// <summary>Creates the data set from two parsed IDX files; throws <see cref="DataFileException"/> when they do not fit together.</summary>
    public IdxDataset(IdxArray images, IdxArray labels, bool scale = true)
    {
        if (images.Dims.Length < 2)
            throw new DataFileException(images.Path, $"wrong dimensions: expected an images file [count, height, width], found [{string.Join(", ", images.Dims)}]");
        if (labels.Dims.Length != 1)
            throw new DataFileException(labels.Path, $"wrong dimensions: expected a labels file [count], found [{string.Join(", ", labels.Dims)}]" +
                (labels.Dims.Length >= 3 ? " (is this the images file?)" : ""));
        if (labels.ElementType is IdxElementType.Float32 or IdxElementType.Float64)
            throw new DataFileException(labels.Path, $"expected integer class labels, found element type {labels.ElementType}");
        if (images.Count != labels.Count)
            throw new DataFileException(labels.Path, $"holds {labels.Count:N0} labels but the images file {images.Path} holds {images.Count:N0} images; expected the same count");
        Images = images;
        Labels = labels;
        Scale = scale;
        SampleShape = images.Dims.Length == 3 ? [1, images.Dims[1], images.Dims[2]] : images.ItemShape.Select(d => (long)d).ToArray();
        _labels = ReadLabels(labels);
    }

    /// <summary>Reads and pairs two IDX files (plain or gzipped).</summary>
    public static IdxDataset Load(string imagesPath, string labelsPath, bool scale = true)
        => new(IdxReader.Read(imagesPath), IdxReader.Read(labelsPath), scale);

    private readonly long[] _labels;

    /// <summary>The images file.</summary>
    public IdxArray Images { get; }
    /// <summary>The labels file.</summary>
    public IdxArray Labels { get; }
    /// <summary>Whether uint8 pixels are divided by 255.</summary>
    public bool Scale { get; }
    /// <summary>The shape of one image tensor, e.g. [1, 28, 28].</summary>
    public long[] SampleShape { get; }

    /// <inheritdoc />
    public override long Count => Images.Count;

    /// <summary>The label of sample <paramref name="index"/>.</summary>
    public long LabelAt(long index) => _labels[index];

    /// <summary>All labels, in index order.</summary>
    public IReadOnlyList<long> AllLabels => _labels;

    /// <summary>The pixels of sample <paramref name="index"/> as floats (scaled like <see cref="GetTensor"/>).</summary>
    public float[] PixelsAt(long index)
    {
        int n = (int)Images.ItemElements;
        var result = new float[n];
        int size = Images.ElementSize;
        var src = Images.Data.AsSpan((int)(index * n * size), n * size);
        switch (Images.ElementType)
        {
            case IdxElementType.UInt8:
                float k = Scale ? 1f / 255f : 1f;
                for (int i = 0; i < n; i++) result[i] = src[i] * k;
                break;
            case IdxElementType.Int8:
                for (int i = 0; i < n; i++) result[i] = (sbyte)src[i];
                break;
            case IdxElementType.Int16:
                var s16 = System.Runtime.InteropServices.MemoryMarshal.Cast<byte, short>(src);
                for (int i = 0; i < n; i++) result[i] = s16[i];
                break;
            case IdxElementType.Int32:
                var s32 = System.Runtime.InteropServices.MemoryMarshal.Cast<byte, int>(src);
                for (int i = 0; i < n; i++) result[i] = s32[i];
                break;
            case IdxElementType.Float32:
                System.Runtime.InteropServices.MemoryMarshal.Cast<byte, float>(src).CopyTo(result);
                break;
            case IdxElementType.Float64:
                var f64 = System.Runtime.InteropServices.MemoryMarshal.Cast<byte, double>(src);
                for (int i = 0; i < n; i++) result[i] = (float)f64[i];
                break;
        }
        return result;
    }

    /// <inheritdoc />
    public override Dictionary<string, Tensor> GetTensor(long index)
    {
        if (index < 0 || index >= Count) throw new ArgumentOutOfRangeException(nameof(index), $"index {index} is outside [0, {Count})");
        return new Dictionary<string, Tensor>
        {
            // --raw shows what the file holds: uint8 pixels stay uint8 (scaled pixels are float32 as ToTensor makes them).
            ["data"] = !Scale && Images.ElementType == IdxElementType.UInt8
                ? tensor(Images.Data.AsSpan((int)(index * Images.ItemElements), (int)Images.ItemElements).ToArray(), SampleShape)
                : tensor(PixelsAt(index), SampleShape),
            ["label"] = tensor(_labels[index], ScalarType.Int64),
        };
    }

    private static long[] ReadLabels(IdxArray labels)
    {
        var r = new long[labels.Count];
        var d = labels.Data.AsSpan();
        for (int i = 0; i < r.Length; i++)
            r[i] = labels.ElementType switch
            {
                IdxElementType.UInt8 => d[i],
                IdxElementType.Int8 => (sbyte)d[i],
                IdxElementType.Int16 => BitConverter.ToInt16(d.Slice(2 * i, 2)),
                _ => BitConverter.ToInt32(d.Slice(4 * i, 4)),
            };
        return r;
    }
}

/// <summary>
/// An in-memory image/feature classification data set: <c>{"data": float32 [shape], "label": int64 scalar}</c>
/// per sample. Used for generated data, CSV files and cleaned copies of other sets.
/// </summary>
public sealed class InMemoryDataset : utils.data.Dataset
{
    /// <summary>Creates the set from one float array per sample and one label per sample.</summary>
    public InMemoryDataset(IReadOnlyList<float[]> samples, IReadOnlyList<long> labels, long[] sampleShape, ScalarType labelDType = ScalarType.Int64)
    {
        if (samples.Count != labels.Count) throw new ArgumentException($"{samples.Count} samples but {labels.Count} labels");
        Samples = samples;
        Labels = labels;
        SampleShape = sampleShape;
        LabelDType = labelDType;
    }

    /// <summary>The samples' values.</summary>
    public IReadOnlyList<float[]> Samples { get; }
    /// <summary>The labels.</summary>
    public IReadOnlyList<long> Labels { get; }
    /// <summary>The shape of one sample tensor.</summary>
    public long[] SampleShape { get; }
    /// <summary>The dtype of the label tensors (int64 unless a fault is being demonstrated).</summary>
    public ScalarType LabelDType { get; }

    /// <inheritdoc />
    public override long Count => Samples.Count;

    /// <inheritdoc />
    public override Dictionary<string, Tensor> GetTensor(long index) => new()
    {
        ["data"] = tensor(Samples[(int)index], SampleShape),
        ["label"] = tensor(Labels[(int)index], ScalarType.Int64).to_type(LabelDType),
    };
}
