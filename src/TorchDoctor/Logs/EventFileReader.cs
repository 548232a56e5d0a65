using TorchDoctor.Observations;
using System.Buffers.Binary;
using System.Text;
using Google.Protobuf;
using Tensorboard;

namespace TorchDoctor.Logs;

/// <summary>
/// Reads TensorBoard event files (written by TorchDoctor, TorchSharp, PyTorch or TensorFlow): TFRecord framing with
/// masked CRC-32C, <see cref="Event"/> protobufs parsed by the classes TorchSharp ships. Scalars are read from
/// <c>simple_value</c> and from rank-0 numeric tensors (PyTorch's and TensorFlow 2's tensor-encoded scalars); text from
/// the text plugin. Damage never throws: a truncated last record (a run still being written) ends the file quietly, a
/// record with a bad data checksum or an unparsable payload is skipped, a bad length checksum ends the file (the
/// framing cannot be trusted after it); each is reported in <see cref="ScalarLog.Problems"/> and what was read is kept.
/// </summary>
public static class EventFileReader
{
    /// <summary>Problems reported per file before the rest are only counted.</summary>
    public const int MaxProblemsPerFile = 10;

    /// <summary>True when <paramref name="fileName"/> looks like an event file (<c>events.out.tfevents.*</c> or any name containing <c>tfevents</c>).</summary>
    public static bool IsEventFile(string fileName) => System.IO.Path.GetFileName(fileName).Contains("tfevents", StringComparison.Ordinal);

    /// <summary>Reads one event file into a new log.</summary>
    public static ScalarLog ReadFile(string path)
    {
        var log = new ScalarLog(System.IO.Path.GetFileName(path), path);
        ReadInto(path, log);
        return log;
    }

    /// <summary>Reads one event file, adding its scalars, texts and problems to <paramref name="log"/>.</summary>
    public static void ReadInto(string path, ScalarLog log)
    {
        ArgumentNullException.ThrowIfNull(log);
        byte[] bytes;
        try
        {
            bytes = ReadAll(path);
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException)
        {
            log.Problems.Add(new LogProblem(path, 0, "cannot be read: " + e.Message));
            return;
        }
        log.Files.Add(path);
        ReadBytes(bytes, path, log);
    }

    private static byte[] ReadAll(string path)
    {
        // Shared read: a training run may be appending to it right now.
        using var fs = new FileStream(path, FileMode.Open, FileAccess.Read, FileShare.ReadWrite | FileShare.Delete, 1, FileOptions.SequentialScan);
        long len = fs.Length;
        if (len > Array.MaxLength) throw new IOException($"{len} bytes is more than one event file can hold here ({Array.MaxLength})");
        var bytes = new byte[len];
        int read = 0;
        while (read < bytes.Length)
        {
            int n = fs.Read(bytes, read, bytes.Length - read);
            if (n == 0) break;
            read += n;
        }
        return read == bytes.Length ? bytes : bytes[..read];
    }

    /// <summary>Reads event records from <paramref name="bytes"/> (the contents of <paramref name="file"/>) into <paramref name="log"/>.</summary>
    public static void ReadBytes(byte[] bytes, string file, ScalarLog log)
    {
        ArgumentNullException.ThrowIfNull(bytes);
        ArgumentNullException.ThrowIfNull(log);
        int problems = 0, skipped = 0;
        void Problem(long offset, string message, bool truncation = false)
        {
            if (problems++ < MaxProblemsPerFile) log.Problems.Add(new LogProblem(file, offset, message, truncation));
        }
        long pos = 0;
        var span = bytes.AsSpan();
        while (pos < bytes.Length)
        {
            long remaining = bytes.Length - pos;
            if (remaining < 12)
            {
                Problem(pos, $"truncated last record ({remaining} of 12 header bytes): the run may still be writing; {log.Records} records before it are kept", true);
                break;
            }
            var header = span.Slice((int)pos, 12);
            ulong length = BinaryPrimitives.ReadUInt64LittleEndian(header);
            uint lengthCrc = BinaryPrimitives.ReadUInt32LittleEndian(header[8..]);
            if (TfRecord.MaskedCrc32C(header[..8]) != lengthCrc)
            {
                Problem(pos, $"bad length checksum (not a TFRecord event file, or corrupted here); the rest of the file ({remaining} bytes) is skipped, {log.Records} records before it are kept");
                break;
            }
            if (length > (ulong)(remaining - 12))
            {
                Problem(pos, $"truncated last record ({remaining - 12} of {length + 4} bytes): the run may still be writing; records before it are kept", true);
                break;
            }
            if (length + 4 > (ulong)(remaining - 12))
            {
                Problem(pos, "truncated last record (its checksum is missing): the run may still be writing; records before it are kept", true);
                break;
            }
            int start = (int)pos + 12, len = (int)length;
            var data = span.Slice(start, len);
            uint dataCrc = BinaryPrimitives.ReadUInt32LittleEndian(span.Slice(start + len, 4));
            pos = start + (long)len + 4;
            if (TfRecord.MaskedCrc32C(data) != dataCrc)
            {
                skipped++;
                Problem(start - 12, "bad data checksum: record skipped");
                continue;
            }
            Event ev;
            try
            {
                ev = Event.Parser.ParseFrom(bytes, start, len);
            }
            catch (InvalidProtocolBufferException e)
            {
                skipped++;
                Problem(start - 12, "record is not an Event protobuf (" + e.Message.Split('\n')[0].Trim() + "): skipped");
                continue;
            }
            log.Records++;
            if (ev.Summary is { } summary) Collect(ev, summary, log);
        }
        if (problems > MaxProblemsPerFile)
            log.Problems.Add(new LogProblem(file, pos, $"{problems - MaxProblemsPerFile} more problems not listed ({skipped} records skipped in all)"));
    }

    // PyTorch's and TorchSharp's add_text append this to the tag.
    private const string TextSuffix = "/text_summary";

    private static void Collect(Event ev, Summary summary, ScalarLog log)
    {
        foreach (var v in summary.Value)
        {
            if (TryGetScalar(v, out var value))
                log.Add(v.Tag, new ScalarPoint(ev.Step, value, ev.WallTime));
            else if (TryGetText(v, out var text))
                log.Texts.Add(new LogText(v.Tag.EndsWith(TextSuffix, StringComparison.Ordinal) ? v.Tag[..^TextSuffix.Length] : v.Tag, ev.Step, text));
        }
    }

    /// <summary>
    /// The scalar in a summary value: <c>simple_value</c>, or a one-element numeric tensor (how PyTorch's
    /// <c>add_scalar(..., new_style=True)</c> and TensorFlow 2 write scalars).
    /// </summary>
    public static bool TryGetScalar(Summary.Types.Value v, out double value)
    {
        ArgumentNullException.ThrowIfNull(v);
        value = 0;
        switch (v.ValueCase)
        {
            case Summary.Types.Value.ValueOneofCase.SimpleValue:
                value = v.SimpleValue;
                return true;
            case Summary.Types.Value.ValueOneofCase.Tensor:
                return TryGetScalar(v.Tensor, out value);
            default:
                return false;
        }
    }

    /// <summary>The value of a one-element numeric tensor (float, double, half, bfloat16, integer types).</summary>
    public static bool TryGetScalar(TensorProto t, out double value)
    {
        ArgumentNullException.ThrowIfNull(t);
        value = 0;
        if (t.TensorShape is { } shape)
        {
            long n = 1;
            foreach (var d in shape.Dim) n *= d.Size;
            if (n != 1) return false;
        }
        var content = t.TensorContent.Span;
        switch (t.Dtype)
        {
            case DataType.DtFloat:
                if (t.FloatVal.Count > 0) { value = t.FloatVal[0]; return true; }
                if (content.Length == 4) { value = BinaryPrimitives.ReadSingleLittleEndian(content); return true; }
                return false;
            case DataType.DtDouble:
                if (t.DoubleVal.Count > 0) { value = t.DoubleVal[0]; return true; }
                if (content.Length == 8) { value = BinaryPrimitives.ReadDoubleLittleEndian(content); return true; }
                return false;
            case DataType.DtHalf:
                if (t.HalfVal.Count > 0) { value = (double)BitConverter.UInt16BitsToHalf((ushort)t.HalfVal[0]); return true; }
                if (content.Length == 2) { value = (double)BinaryPrimitives.ReadHalfLittleEndian(content); return true; }
                return false;
            case DataType.DtBfloat16:
                if (t.HalfVal.Count > 0) { value = BitConverter.Int32BitsToSingle(t.HalfVal[0] << 16); return true; }
                if (content.Length == 2) { value = BitConverter.Int32BitsToSingle(BinaryPrimitives.ReadUInt16LittleEndian(content) << 16); return true; }
                return false;
            case DataType.DtInt32 or DataType.DtInt16 or DataType.DtInt8 or DataType.DtUint8 or DataType.DtUint16:
                if (t.IntVal.Count > 0) { value = t.IntVal[0]; return true; }
                if (t.Dtype == DataType.DtInt32 && content.Length == 4) { value = BinaryPrimitives.ReadInt32LittleEndian(content); return true; }
                return false;
            case DataType.DtInt64:
                if (t.Int64Val.Count > 0) { value = t.Int64Val[0]; return true; }
                if (content.Length == 8) { value = BinaryPrimitives.ReadInt64LittleEndian(content); return true; }
                return false;
            default:
                return false;
        }
    }

    /// <summary>The text of a text-plugin value (a string tensor), or false.</summary>
    public static bool TryGetText(Summary.Types.Value v, out string text)
    {
        ArgumentNullException.ThrowIfNull(v);
        text = "";
        if (v.ValueCase != Summary.Types.Value.ValueOneofCase.Tensor || v.Tensor.Dtype != DataType.DtString || v.Tensor.StringVal.Count == 0) return false;
        var sb = new StringBuilder();
        foreach (var s in v.Tensor.StringVal)
        {
            if (sb.Length > 0) sb.Append('\n');
            sb.Append(s.ToStringUtf8());
        }
        text = sb.ToString();
        return true;
    }
}
