using System.Text;

namespace TorchDoctor.Cli.Rendering;

/// <summary>
/// Output that is not a terminal (a pipe, a file, CI): Spectre pads every table line with spaces to the table's width, so a
/// piped table is a block of 240-column lines. This writer drops spaces that end a line and passes everything else through
/// unchanged; the text reads the same, and diffs and greps of the output are not disturbed by padding.
/// </summary>
internal sealed class TrailingSpaceTrimmingWriter(TextWriter inner) : TextWriter
{
    private int _pendingSpaces;

    /// <inheritdoc />
    public override Encoding Encoding => inner.Encoding;

    /// <inheritdoc />
    public override void Write(char value) => Write(new ReadOnlySpan<char>(in value));

    /// <inheritdoc />
    public override void Write(string? value) => Write(value.AsSpan());

    /// <inheritdoc />
    public override void Write(char[] buffer, int index, int count) => Write(buffer.AsSpan(index, count));

    /// <inheritdoc />
    public override void Write(ReadOnlySpan<char> value)
    {
        var sb = new StringBuilder(value.Length);
        foreach (var c in value)
        {
            if (c == ' ') { _pendingSpaces++; continue; }
            if (c is not ('\n' or '\r')) sb.Append(' ', _pendingSpaces);   // spaces inside a line stay; spaces ending one go
            _pendingSpaces = 0;
            sb.Append(c);
        }
        if (sb.Length > 0) inner.Write(sb.ToString());
    }

    /// <inheritdoc />
    public override void Flush() => inner.Flush();

    /// <inheritdoc />
    protected override void Dispose(bool disposing)
    {
        if (disposing) inner.Flush();
        base.Dispose(disposing);
    }
}
