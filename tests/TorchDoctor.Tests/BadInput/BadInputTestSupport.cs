using System.Buffers.Binary;
using System.IO.Compression;
using TorchDoctor.Data;

namespace TorchDoctor.Tests.BadInput;

/// <summary>A temporary folder, deleted (with what it holds) on dispose.</summary>
internal sealed class TempDir : IDisposable
{
    public TempDir() => Directory.CreateDirectory(Path);
    public string Path { get; } = System.IO.Path.Combine(System.IO.Path.GetTempPath(), "td-bad-" + Guid.NewGuid().ToString("N"));
    public string File(string name) => System.IO.Path.Combine(Path, name);
    public string Write(string name, string text) { var p = File(name); Directory.CreateDirectory(System.IO.Path.GetDirectoryName(p)!); System.IO.File.WriteAllText(p, text); return p; }
    public string Write(string name, byte[] bytes) { var p = File(name); Directory.CreateDirectory(System.IO.Path.GetDirectoryName(p)!); System.IO.File.WriteAllBytes(p, bytes); return p; }
    public void Dispose() { try { Directory.Delete(Path, true); } catch (IOException) { } catch (UnauthorizedAccessException) { } }
}

/// <summary>Builders of small input files for the bad-input tests.</summary>
internal static class BadFiles
{
    /// <summary>An IDX images file ([n, h, w] uint8, pixel = (i + j) % 256) and its uint8 labels.</summary>
    public static (string Images, string Labels) Idx(TempDir dir, string prefix, int n, int h, int w, Func<int, int> label, bool gzip = false, IdxElementType labelType = IdxElementType.UInt8)
    {
        var px = new byte[n * h * w];
        for (int i = 0; i < px.Length; i++) px[i] = (byte)((i * 7 + i / (h * w)) % 256);
        var ext = gzip ? ".gz" : "";
        var images = dir.File(prefix + "-images" + ext);
        IdxReader.Write(images, IdxElementType.UInt8, [n, h, w], px);
        var labels = dir.File(prefix + "-labels" + ext);
        int size = labelType == IdxElementType.Int32 ? 4 : 1;
        var lb = new byte[n * size];
        for (int i = 0; i < n; i++)
        {
            if (size == 4) BitConverter.TryWriteBytes(lb.AsSpan(i * 4), label(i));
            else lb[i] = (byte)label(i);
        }
        IdxReader.Write(labels, labelType, [n], lb);
        return (images, labels);
    }

    /// <summary>A grey 8-bit PNG of <paramref name="w"/>×<paramref name="h"/> (a real, decodable file).</summary>
    public static byte[] Png(int w, int h, byte value = 128, int channels = 1)
    {
        var raw = new MemoryStream();
        for (int y = 0; y < h; y++)
        {
            raw.WriteByte(0);
            for (int x = 0; x < w * channels; x++) raw.WriteByte((byte)(value + x + y));
        }
        var z = new MemoryStream();
        using (var zs = new ZLibStream(z, CompressionLevel.Fastest, leaveOpen: true)) raw.WriteTo(zs);
        return PngFile(w, h, channels == 3 ? (byte)2 : (byte)0, z.ToArray());
    }

    /// <summary>A PNG whose header says <paramref name="w"/>×<paramref name="h"/> grey pixels, with a tiny (incomplete) image stream.</summary>
    public static byte[] HugePngHeader(int w, int h)
    {
        var z = new MemoryStream();
        using (var zs = new ZLibStream(z, CompressionLevel.Fastest, leaveOpen: true)) zs.Write(new byte[4096]);
        return PngFile(w, h, 0, z.ToArray());
    }

    private static byte[] PngFile(int w, int h, byte colorType, byte[] idat)
    {
        var o = new MemoryStream();
        o.Write([0x89, (byte)'P', (byte)'N', (byte)'G', 0x0D, 0x0A, 0x1A, 0x0A]);
        var ihdr = new byte[13];
        BinaryPrimitives.WriteInt32BigEndian(ihdr, w);
        BinaryPrimitives.WriteInt32BigEndian(ihdr.AsSpan(4), h);
        ihdr[8] = 8; ihdr[9] = colorType;
        Chunk(o, "IHDR", ihdr);
        Chunk(o, "IDAT", idat);
        Chunk(o, "IEND", []);
        return o.ToArray();
    }

    private static void Chunk(Stream o, string type, byte[] data)
    {
        var len = new byte[4];
        BinaryPrimitives.WriteInt32BigEndian(len, data.Length);
        o.Write(len);
        var t = System.Text.Encoding.ASCII.GetBytes(type);
        o.Write(t);
        o.Write(data);
        uint crc = IO.Crc32.Append(IO.Crc32.Compute(t), data);
        var c = new byte[4];
        BinaryPrimitives.WriteUInt32BigEndian(c, crc);
        o.Write(c);
    }

    /// <summary>A print(model) text of <paramref name="depth"/> nested Sequentials around one Linear.</summary>
    public static string NestedPrint(int depth)
    {
        var sb = new System.Text.StringBuilder("Net(\n");
        for (int i = 1; i <= depth; i++) sb.Append(' ', 2 * i).Append("(s): Sequential(\n");
        sb.Append(' ', 2 * (depth + 1)).Append("(fc): Linear(in_features=2, out_features=2, bias=True)\n");
        for (int i = depth; i >= 1; i--) sb.Append(' ', 2 * i).Append(")\n");
        return sb.Append(")\n").ToString();
    }
}
