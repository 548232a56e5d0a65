using System.Buffers.Binary;
using System.IO.Compression;

namespace TorchDoctor.Data;

/// <summary>The element types of the IDX format (the third byte of its magic number).</summary>
public enum IdxElementType : byte
{
    /// <summary>Unsigned byte (0x08).</summary>
    UInt8 = 0x08,
    /// <summary>Signed byte (0x09).</summary>
    Int8 = 0x09,
    /// <summary>Big-endian 16-bit integer (0x0B).</summary>
    Int16 = 0x0B,
    /// <summary>Big-endian 32-bit integer (0x0C).</summary>
    Int32 = 0x0C,
    /// <summary>Big-endian 32-bit float (0x0D).</summary>
    Float32 = 0x0D,
    /// <summary>Big-endian 64-bit float (0x0E).</summary>
    Float64 = 0x0E,
}

/// <summary>The contents of one IDX file: element type, dimensions and the data in host byte order.</summary>
/// <param name="Path">The file it came from.</param>
/// <param name="ElementType">The element type.</param>
/// <param name="Dims">The dimensions, first = number of items.</param>
/// <param name="Data">The elements, converted to little-endian (host) order.</param>
public sealed record IdxArray(string Path, IdxElementType ElementType, int[] Dims, byte[] Data)
{
    /// <summary>Number of items (the first dimension).</summary>
    public int Count => Dims[0];

    /// <summary>The shape of one item (the dimensions after the first).</summary>
    public int[] ItemShape => Dims[1..];

    /// <summary>Elements per item.</summary>
    public long ItemElements => ItemShape.Aggregate(1L, (a, d) => a * d);

    /// <summary>Bytes per element.</summary>
    public int ElementSize => IdxReader.SizeOf(ElementType);
}

/// <summary>
/// Reads IDX files (the MNIST family's format), plain or gzipped. Every way a file can be wrong (missing,
/// not IDX, unknown type, truncated header, fewer or more data bytes than the dimensions say) is a
/// <see cref="DataFileException"/> naming the file, what was expected and what was found.
/// </summary>
public static class IdxReader
{
    /// <summary>Bytes per element of <paramref name="type"/>.</summary>
    public static int SizeOf(IdxElementType type) => type switch
    {
        IdxElementType.UInt8 or IdxElementType.Int8 => 1,
        IdxElementType.Int16 => 2,
        IdxElementType.Int32 or IdxElementType.Float32 => 4,
        IdxElementType.Float64 => 8,
        _ => throw new ArgumentOutOfRangeException(nameof(type)),
    };

    /// <summary>Reads <paramref name="path"/> (gzip is detected from its first bytes, not its name).</summary>
    public static IdxArray Read(string path)
    {
        if (IO.InputFile.Problem(path, "an IDX file (e.g. train-images-idx3-ubyte.gz)", allowEmpty: true) is { } problem) throw new DataFileException(path, problem);
        byte[] bytes;
        try
        {
            bytes = File.ReadAllBytes(path);
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException)
        {
            throw new DataFileException(path, "cannot be read: " + e.Message, e);
        }
        return Parse(path, bytes);
    }

    /// <summary>Parses the bytes of an IDX file (plain or gzipped); <paramref name="path"/> names it in errors.</summary>
    public static IdxArray Parse(string path, byte[] bytes)
    {
        if (bytes.Length >= 2 && bytes[0] == 0x1f && bytes[1] == 0x8b) bytes = Gunzip(path, bytes);
        if (bytes.Length < 4)
            throw new DataFileException(path, $"too short for an IDX header: expected at least 4 bytes (magic number), found {bytes.Length}");
        if (bytes[0] != 0 || bytes[1] != 0)
            throw new DataFileException(path, $"wrong magic number: expected an IDX file starting 00 00 <type> <rank>, found {bytes[0]:X2} {bytes[1]:X2} {bytes[2]:X2} {bytes[3]:X2}");
        var type = (IdxElementType)bytes[2];
        if (!Enum.IsDefined(type))
            throw new DataFileException(path, $"wrong magic number: unknown IDX element type 0x{bytes[2]:X2} (expected 08 ubyte, 09 sbyte, 0B int16, 0C int32, 0D float32 or 0E float64)");
        int rank = bytes[3];
        if (rank == 0) throw new DataFileException(path, "wrong dimensions: the header says rank 0; expected at least 1 dimension");
        int header = 4 + 4 * rank;
        if (bytes.Length < header)
            throw new DataFileException(path, $"short read: the header of a rank-{rank} IDX file needs {header} bytes, found {bytes.Length}");
        var dims = new int[rank];
        long elements = 1;
        for (int i = 0; i < rank; i++)
        {
            int d = BinaryPrimitives.ReadInt32BigEndian(bytes.AsSpan(4 + 4 * i));
            if (d < 0) throw new DataFileException(path, $"wrong dimensions: dimension {i} is {d}; expected a non-negative size");
            dims[i] = d;
            elements *= d;
            if (elements > int.MaxValue) throw new DataFileException(path, $"wrong dimensions: [{string.Join(", ", dims[..(i + 1)])}...] is more than 2^31 elements");
        }
        int size = SizeOf(type);
        long expected = elements * size;
        long found = bytes.Length - header;
        string what = $"[{string.Join(" x ", dims)}] {type}";
        if (found < expected)
            throw new DataFileException(path, $"short read: the header says {what} = {expected:N0} data bytes, found {found:N0} (the file is truncated)");
        if (found > expected)
            throw new DataFileException(path, $"wrong dimensions: the header says {what} = {expected:N0} data bytes, found {found:N0} ({found - expected:N0} bytes more)");
        var data = new byte[expected];
        bytes.AsSpan(header, (int)expected).CopyTo(data);
        if (size > 1 && BitConverter.IsLittleEndian) Swap(data, size);
        return new IdxArray(path, type, dims, data);
    }

    private static byte[] Gunzip(string path, byte[] gz)
    {
        try
        {
            using var input = new MemoryStream(gz);
            using var z = new GZipStream(input, CompressionMode.Decompress);
            using var output = new MemoryStream(gz.Length * 4);
            z.CopyTo(output);
            var data = output.ToArray();
            // GZipStream stops silently at a missing trailer: check the CRC-32 and length the trailer stores.
            if (gz.Length < 18)
                throw new DataFileException(path, "the gzip stream is truncated (shorter than a gzip header and trailer); expected a complete .gz of an IDX file");
            uint crc = BinaryPrimitives.ReadUInt32LittleEndian(gz.AsSpan(gz.Length - 8));
            uint isize = BinaryPrimitives.ReadUInt32LittleEndian(gz.AsSpan(gz.Length - 4));
            if (isize != (uint)data.Length || crc != IO.Crc32.Compute(data))
                throw new DataFileException(path, $"the gzip stream is truncated or corrupt: its trailer (CRC-32 {crc:X8}, length {isize:N0}) does not match the {data.Length:N0} bytes it decompresses to; expected a complete .gz of an IDX file (download or copy it again)");
            return data;
        }
        catch (Exception e) when (e is InvalidDataException or EndOfStreamException or IOException)
        {
            throw new DataFileException(path, $"the gzip stream is corrupt or truncated ({e.Message.TrimEnd('.')}); expected a complete .gz of an IDX file", e);
        }
    }

    private static void Swap(byte[] data, int size)
    {
        var span = data.AsSpan();
        switch (size)
        {
            case 2:
                var s = System.Runtime.InteropServices.MemoryMarshal.Cast<byte, short>(span);
                BinaryPrimitives.ReverseEndianness(s, s);
                break;
            case 4:
                var i = System.Runtime.InteropServices.MemoryMarshal.Cast<byte, int>(span);
                BinaryPrimitives.ReverseEndianness(i, i);
                break;
            case 8:
                var l = System.Runtime.InteropServices.MemoryMarshal.Cast<byte, long>(span);
                BinaryPrimitives.ReverseEndianness(l, l);
                break;
        }
    }

    /// <summary>Writes an IDX file (uncompressed, or gzipped when the name ends in .gz). For tests and fixtures.</summary>
    public static void Write(string path, IdxElementType type, int[] dims, byte[] hostOrderData)
    {
        var header = new byte[4 + 4 * dims.Length];
        header[2] = (byte)type;
        header[3] = (byte)dims.Length;
        for (int i = 0; i < dims.Length; i++) BinaryPrimitives.WriteInt32BigEndian(header.AsSpan(4 + 4 * i), dims[i]);
        var data = (byte[])hostOrderData.Clone();
        int size = SizeOf(type);
        if (size > 1 && BitConverter.IsLittleEndian) Swap(data, size);
        using var file = File.Create(path);
        using Stream s = path.EndsWith(".gz", StringComparison.OrdinalIgnoreCase) ? new GZipStream(file, CompressionLevel.Fastest) : file;
        s.Write(header);
        s.Write(data);
    }
}
