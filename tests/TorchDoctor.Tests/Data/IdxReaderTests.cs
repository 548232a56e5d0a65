using System.IO.Compression;
using TorchDoctor.Data;
using Xunit;

namespace TorchDoctor.Tests.Data;

public class IdxReaderTests
{
    [Fact]
    public void Reads_plain_and_gzipped_files_with_big_endian_values()
    {
        using var dir = new TempDir();
        var data = new byte[3 * 4];
        BitConverter.GetBytes(1).CopyTo(data, 0);
        BitConverter.GetBytes(-2).CopyTo(data, 4);
        BitConverter.GetBytes(70000).CopyTo(data, 8);
        IdxReader.Write(dir.File("a.idx"), IdxElementType.Int32, [3], data);
        IdxReader.Write(dir.File("a.idx.gz"), IdxElementType.Int32, [3], data);
        var raw = File.ReadAllBytes(dir.File("a.idx"));
        Assert.Equal(new byte[] { 0, 0, 0x0C, 1, 0, 0, 0, 3, 0, 0, 0, 1 }, raw[..12]);
        foreach (var f in new[] { "a.idx", "a.idx.gz" })
        {
            var a = IdxReader.Read(dir.File(f));
            Assert.Equal(IdxElementType.Int32, a.ElementType);
            Assert.Equal([3], a.Dims);
            Assert.Equal(data, a.Data);
        }
    }

    private static DataFileException Reject(byte[] bytes, string name = "bad-idx3-ubyte")
    {
        using var dir = new TempDir();
        var path = dir.File(name);
        File.WriteAllBytes(path, bytes);
        var e = Assert.Throws<DataFileException>(() => IdxReader.Read(path));
        Assert.StartsWith(path + ": ", e.Message);
        Assert.Equal(path, e.Path);
        return e;
    }

    private static byte[] Header(byte type, params int[] dims)
    {
        var h = new List<byte> { 0, 0, type, (byte)dims.Length };
        foreach (var d in dims) h.AddRange(BitConverter.GetBytes(d).Reverse());
        return h.ToArray();
    }

    [Fact]
    public void Wrong_magic_is_rejected_with_the_bytes_found()
    {
        var e = Reject("PK\x03\x04 not idx at all"u8.ToArray());
        Assert.Contains("wrong magic number", e.Message);
        Assert.Contains("expected an IDX file starting 00 00", e.Message);
        Assert.Contains("found 50 4B 03 04", e.Message);
    }

    [Fact]
    public void Unknown_element_type_is_rejected()
    {
        var e = Reject([0, 0, 0x07, 1, 0, 0, 0, 1, 5]);
        Assert.Contains("unknown IDX element type 0x07", e.Message);
    }

    [Fact]
    public void Rank_zero_and_truncated_headers_are_rejected()
    {
        Assert.Contains("rank 0", Reject([0, 0, 8, 0]).Message);
        var e = Reject([0, 0, 8, 3, 0, 0, 0, 2, 0, 0]);
        Assert.Contains("short read", e.Message);
        Assert.Contains("needs 16 bytes, found 10", e.Message);
        Assert.Contains("expected at least 4 bytes", Reject([0, 0]).Message);
    }

    [Fact]
    public void Short_read_names_expected_and_found_byte_counts()
    {
        var bytes = Header(8, 10, 28, 28).Concat(new byte[7000]).ToArray();
        var e = Reject(bytes);
        Assert.Contains("short read", e.Message);
        Assert.Contains("[10 x 28 x 28] UInt8 = 7,840 data bytes, found 7,000", e.Message);
        Assert.Contains("truncated", e.Message);
    }

    [Fact]
    public void Dimensions_that_disagree_with_the_data_are_rejected()
    {
        var e = Reject(Header(8, 2, 3).Concat(new byte[10]).ToArray());
        Assert.Contains("wrong dimensions", e.Message);
        Assert.Contains("6 data bytes, found 10", e.Message);
        Assert.Contains("dimension 1 is -5", Reject(Header(8, 2, -5)).Message);
    }

    [Fact]
    public void Truncated_gzip_is_rejected()
    {
        using var ms = new MemoryStream();
        using (var z = new GZipStream(ms, CompressionLevel.Fastest, leaveOpen: true))
            z.Write(Header(8, 100, 28, 28).Concat(Enumerable.Range(0, 78400).Select(i => (byte)(i * 31))).ToArray());
        var gz = ms.ToArray();
        var e = Reject(gz[..(gz.Length / 2)], "bad.gz");
        Assert.True(e.Message.Contains("gzip stream is corrupt or truncated") || e.Message.Contains("short read"), e.Message);
    }

    [Fact]
    public void Missing_file_and_folder_are_named()
    {
        using var dir = new TempDir();
        Assert.Contains("no such file", Assert.Throws<DataFileException>(() => IdxReader.Read(dir.File("nope"))).Message);
        Assert.Contains("is a folder", Assert.Throws<DataFileException>(() => IdxReader.Read(dir.Path)).Message);
    }

    [Fact]
    public void Label_and_image_counts_that_disagree_are_rejected()
    {
        using var dir = new TempDir();
        var (images, labels) = Idx.WriteSet(dir, n: 20, labelCount: 19);
        var e = Assert.Throws<DataFileException>(() => IdxDataset.Load(images, labels));
        Assert.Contains(labels, e.Message);
        Assert.Contains("holds 19 labels but the images file", e.Message);
        Assert.Contains("holds 20 images", e.Message);
    }

    [Fact]
    public void Swapped_images_and_labels_files_are_rejected()
    {
        using var dir = new TempDir();
        var (images, labels) = Idx.WriteSet(dir);
        var e = Assert.Throws<DataFileException>(() => IdxDataset.Load(labels, images));
        Assert.Contains("expected an images file [count, height, width], found [20]", e.Message);
    }

    [Fact]
    public void Idx_dataset_yields_scaled_float_images_and_int64_labels()
    {
        using var dir = new TempDir();
        var (images, labels) = Idx.WriteSet(dir, n: 5, h: 8, w: 9);
        using var ds = IdxDataset.Load(images, labels);
        var s = ds.GetTensor(3);
        Assert.Equal([1, 8, 9], s["data"].shape);
        Assert.Equal(TorchSharp.torch.ScalarType.Float32, s["data"].dtype);
        Assert.Equal(TorchSharp.torch.ScalarType.Int64, s["label"].dtype);
        Assert.Equal(3L, s["label"].item<long>());
        Assert.Equal((3 * 7 + 1) / 255f, s["data"][0, 0, 1].item<float>(), 6);
    }

    [Fact]
    public void Fashion_mnist_missing_names_the_package()
    {
        using var dir = new TempDir();
        var e = Assert.Throws<DataUnavailableException>(() => FashionMnist.Load(true, dir.Path));
        Assert.Contains("dataset-fashion-mnist", e.Message);
        Assert.Contains("train-images-idx3-ubyte.gz", e.Message);
    }
}
