using TorchSharp;
using static TorchSharp.torch;

namespace TorchDoctor.Data;

/// <summary>
/// A folder of images in one sub-folder per class (<c>root/cat/1.png</c>, <c>root/dog/2.jpg</c>), decoded by
/// TorchVision (<c>torchvision.io</c> with SkiaSharp) when a sample is read: <c>{"data": [C, H, W], "label": int64}</c>,
/// float32 in [0, 1] unless <see cref="Scale"/> is false (then uint8 as read_image returns it). A file that does
/// not decode throws <see cref="DataFileException"/> naming it.
/// </summary>
public sealed class ImageFolderDataset : utils.data.Dataset
{
    /// <summary>File extensions taken as images.</summary>
    public static readonly IReadOnlySet<string> Extensions = new HashSet<string>(StringComparer.OrdinalIgnoreCase) { ".png", ".jpg", ".jpeg", ".bmp", ".gif", ".webp" };

    private readonly torchvision.io.Imager _imager = new torchvision.io.SkiaImager();

    /// <summary>Indexes <paramref name="root"/>: class names are the sub-folder names in ordinal order.</summary>
    public ImageFolderDataset(string root, bool scale = true)
    {
        if (IO.InputFile.FolderProblem(root, "a folder with one sub-folder of images per class") is { } problem) throw new DataFileException(root, problem);
        Root = root;
        Scale = scale;
        Classes = Directory.GetDirectories(root).Select(System.IO.Path.GetFileName).Select(n => n!).Order(StringComparer.Ordinal).ToList();
        if (Classes.Count == 0) throw new DataFileException(root, "has no sub-folders; expected one sub-folder of images per class (root/<class>/<image>)");
        var files = new List<(string, long)>();
        for (int c = 0; c < Classes.Count; c++)
            foreach (var f in Directory.GetFiles(System.IO.Path.Combine(root, Classes[c])).Where(f => Extensions.Contains(System.IO.Path.GetExtension(f))).Order(StringComparer.Ordinal))
                files.Add((f, c));
        if (files.Count == 0) throw new DataFileException(root, $"has no image files ({string.Join(", ", Extensions)}) in its {Classes.Count} class folder(s)");
        Files = files;
    }

    /// <summary>The folder.</summary>
    public string Root { get; }
    /// <summary>Whether pixels are converted to float32 in [0, 1].</summary>
    public bool Scale { get; }
    /// <summary>Class names, by label.</summary>
    public IReadOnlyList<string> Classes { get; }
    /// <summary>Every image file with its label.</summary>
    public IReadOnlyList<(string Path, long Label)> Files { get; }

    /// <inheritdoc />
    public override long Count => Files.Count;

    /// <summary>Default <see cref="MaxPixels"/>: 50 megapixels (an 8K frame is 33 MP); decoding one costs up to 200 MB as RGBA.</summary>
    public const long DefaultMaxPixels = 50_000_000;

    /// <summary>
    /// Images with more pixels than this (width × height, read from the file's header before decoding) are refused
    /// as a failed sample, so one 1 MB PNG of 20000×20000 cannot take gigabytes. Default <see cref="DefaultMaxPixels"/>.
    /// </summary>
    public long MaxPixels { get; init; } = DefaultMaxPixels;

    /// <inheritdoc />
    public override Dictionary<string, Tensor> GetTensor(long index)
    {
        var (path, label) = Files[(int)index];
        byte[] bytes;
        try { bytes = File.ReadAllBytes(path); }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException)
        {
            throw new DataFileException(path, "cannot be read: " + e.Message, e);
        }
        if (bytes.Length == 0) throw new DataFileException(path, "is empty (0 bytes); expected PNG, JPEG, BMP, GIF or WebP data");
        using (var codec = SkiaSharp.SKCodec.Create(new SkiaSharp.SKMemoryStream(bytes)))
        {
            if (codec is not null && (long)codec.Info.Width * codec.Info.Height > MaxPixels)
                throw new DataFileException(path, $"is {codec.Info.Width:N0}×{codec.Info.Height:N0} = {(long)codec.Info.Width * codec.Info.Height:N0} pixels, beyond the limit of {MaxPixels:N0} " +
                    "(decoding it would take gigabytes); resize it, or raise the limit with --max-image-pixels");
        }
        Tensor img;
        try
        {
            img = _imager.DecodeImage(bytes, torchvision.io.ImageReadMode.UNCHANGED);
        }
        catch (Exception e) when (e is not OutOfMemoryException)
        {
            var head = new string(bytes.Take(8).Select(b => b is >= 32 and < 127 ? (char)b : '.').ToArray());
            throw new DataFileException(path, $"does not decode as an image: expected PNG, JPEG, BMP, GIF or WebP data, found {bytes.Length:N0} bytes starting '{head}'", e);
        }
        if (Scale) img = img.to_type(ScalarType.Float32).div_(255);
        return new Dictionary<string, Tensor> { ["data"] = img, ["label"] = tensor(label, ScalarType.Int64) };
    }
}
