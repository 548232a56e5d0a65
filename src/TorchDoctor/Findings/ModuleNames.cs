namespace TorchDoctor.Findings;

/// <summary>How findings name modules.</summary>
public static class ModuleNames
{
    /// <summary>The model itself (the root module, whose path is empty): findings never print a blank module name.</summary>
    public const string Root = "(root)";

    /// <summary>The name findings print for a module path: <see cref="Root"/> for the empty path, else the path.</summary>
    public static string Display(string path) => path.Length == 0 ? Root : path;
}
