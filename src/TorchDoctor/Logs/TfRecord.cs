using System.Buffers.Binary;
using System.Numerics;

namespace TorchDoctor.Logs;

/// <summary>
/// TFRecord framing as TensorBoard event files use it: each record is
/// <c>uint64 length | uint32 masked_crc32c(length) | data[length] | uint32 masked_crc32c(data)</c>, little-endian.
/// </summary>
public static class TfRecord
{
    private const uint MaskDelta = 0xa282ead8;

    /// <summary>CRC-32C (Castagnoli) of <paramref name="data"/>, as TensorFlow computes it (hardware-accelerated where the CPU has it).</summary>
    public static uint Crc32C(ReadOnlySpan<byte> data)
    {
        uint crc = ~0u;
        int i = 0;
        for (; i + 8 <= data.Length; i += 8)
            crc = BitOperations.Crc32C(crc, BinaryPrimitives.ReadUInt64LittleEndian(data[i..]));
        for (; i < data.Length; i++)
            crc = BitOperations.Crc32C(crc, data[i]);
        return ~crc;
    }

    /// <summary>The masked CRC stored in TFRecord files: rotate right by 15, add a constant.</summary>
    public static uint MaskedCrc32C(ReadOnlySpan<byte> data)
    {
        var crc = Crc32C(data);
        return ((crc >> 15) | (crc << 17)) + MaskDelta;
    }

    /// <summary>Writes one framed record (used by tests and fixtures; TorchSharp's SummaryWriter writes the product's files).</summary>
    public static void Write(Stream stream, ReadOnlySpan<byte> data)
    {
        Span<byte> header = stackalloc byte[12];
        BinaryPrimitives.WriteUInt64LittleEndian(header, (ulong)data.Length);
        BinaryPrimitives.WriteUInt32LittleEndian(header[8..], MaskedCrc32C(header[..8]));
        stream.Write(header);
        stream.Write(data);
        Span<byte> footer = stackalloc byte[4];
        BinaryPrimitives.WriteUInt32LittleEndian(footer, MaskedCrc32C(data));
        stream.Write(footer);
    }
}
