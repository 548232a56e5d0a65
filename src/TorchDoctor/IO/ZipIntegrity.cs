using System.IO.Compression;

namespace TorchDoctor.IO;

/// <summary>
/// Verifies a zip archive (TorchScript and <c>torch.save</c> files are zips) before a reader trusts it: the central
/// directory opens and every member's bytes match the CRC-32 stored for it. libtorch checks neither for TorchScript
/// files, so flipped bytes load silently.
/// </summary>
public static class ZipIntegrity
{
    /// <summary>Null when the archive is whole; otherwise the reason (following "PATH: ").</summary>
    public static string? Problem(string path)
    {
        try
        {
            using var zip = ZipFile.OpenRead(path);
            var buffer = new byte[1 << 16];
            foreach (var e in zip.Entries)
            {
                if (e.FullName.EndsWith('/')) continue;
                uint crc = 0;
                long n = 0;
                using (var s = e.Open())
                {
                    int r;
                    while ((r = s.Read(buffer, 0, buffer.Length)) > 0) { crc = Crc32.Append(crc, buffer.AsSpan(0, r)); n += r; }
                }
                if (n != e.Length)
                    return $"damaged: member {e.FullName} holds {n:N0} bytes, its header says {e.Length:N0}; the file is truncated or corrupt. Copy or save it again.";
                if (crc != e.Crc32)
                    return $"damaged: member {e.FullName} fails its CRC-32 check (stored {e.Crc32:X8}, computed {crc:X8}); the file was modified or corrupted. Copy or save it again.";
            }
            return null;
        }
        catch (InvalidDataException e)
        {
            return $"truncated or damaged zip archive ({e.Message.TrimEnd('.')}); an incomplete download or copy? Copy or save the file again.";
        }
        catch (EndOfStreamException)
        {
            return "truncated (the archive ends early); copy or save the file again.";
        }
    }
}
