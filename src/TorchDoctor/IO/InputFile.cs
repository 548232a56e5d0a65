namespace TorchDoctor.IO;

/// <summary>
/// Checks a path given as an input file before a reader opens it, so every reader says the same thing for the
/// same problem: missing, a folder, unreadable (permissions) or empty.
/// </summary>
public static class InputFile
{
    /// <summary>
    /// Null when <paramref name="path"/> is a readable, non-empty file; otherwise the reason, phrased to follow
    /// "PATH: " (e.g. "is a folder; expected a file").
    /// </summary>
    /// <param name="path">The path.</param>
    /// <param name="expected">What the file should be, e.g. "a TorchScript file (.pt)".</param>
    /// <param name="allowEmpty">Whether an empty file is acceptable.</param>
    public static string? Problem(string path, string expected, bool allowEmpty = false)
    {
        if (string.IsNullOrWhiteSpace(path)) return $"an empty path; expected {expected}";
        if (Directory.Exists(path)) return $"is a folder; expected {expected}";
        if (!File.Exists(path)) return $"no such file; expected {expected}";
        try
        {
            using var fs = new FileStream(path, FileMode.Open, FileAccess.Read, FileShare.ReadWrite, 1);
            if (!allowEmpty && fs.CanSeek && fs.Length == 0) return $"the file is empty (0 bytes); expected {expected}";
        }
        catch (UnauthorizedAccessException)
        {
            return $"permission denied: the file cannot be read by this user; give read access (chmod a+r) or copy it. Expected {expected}";
        }
        catch (IOException e)
        {
            return $"cannot be read ({e.Message.TrimEnd('.')}); expected {expected}";
        }
        return null;
    }

    /// <summary>Null when <paramref name="path"/> is a folder this user can list; otherwise the reason.</summary>
    public static string? FolderProblem(string path, string expected)
    {
        if (File.Exists(path)) return $"is a file; expected {expected}";
        if (!Directory.Exists(path)) return $"no such folder; expected {expected}";
        try { using var e = Directory.EnumerateFileSystemEntries(path).GetEnumerator(); e.MoveNext(); }
        catch (UnauthorizedAccessException) { return $"permission denied: the folder cannot be listed by this user; expected {expected}"; }
        catch (IOException e) { return $"cannot be listed ({e.Message.TrimEnd('.')}); expected {expected}"; }
        return null;
    }

    /// <summary>Formats a byte count with a binary unit (e.g. <c>7.28 GiB</c>).</summary>
    public static string Bytes(double bytes)
    {
        string[] units = ["bytes", "KiB", "MiB", "GiB", "TiB", "PiB", "EiB"];
        int u = 0;
        while (Math.Abs(bytes) >= 1024 && u < units.Length - 1) { bytes /= 1024; u++; }
        return u == 0 ? bytes.ToString("0", System.Globalization.CultureInfo.InvariantCulture) + " bytes"
            : bytes.ToString("0.##", System.Globalization.CultureInfo.InvariantCulture) + " " + units[u];
    }
}
