namespace TorchDoctor.Data;

/// <summary>
/// A data file that cannot be read as what it claims to be (missing, truncated, corrupt, wrong format, or
/// inconsistent with its partner file). The message names the file, what was expected and what was found.
/// </summary>
public sealed class DataFileException : Exception
{
    /// <summary>Creates the exception for <paramref name="path"/>.</summary>
    public DataFileException(string path, string message, Exception? inner = null) : base($"{path}: {message}", inner) => Path = path;

    /// <summary>The file (or folder) at fault.</summary>
    public string Path { get; }
}
