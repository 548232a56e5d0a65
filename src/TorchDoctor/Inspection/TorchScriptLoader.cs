using System.Runtime.InteropServices;
using TorchDoctor.Runtime;
using static TorchSharp.torch;
using Module = TorchSharp.torch.nn.Module;

namespace TorchDoctor.Inspection;

/// <summary>Thrown when a model file cannot be read; the message names the file, what was expected and the fix.</summary>
public sealed class ModelFileException : Exception
{
    /// <summary>Creates the exception.</summary>
    public ModelFileException(string message, Exception? inner = null) : base(message, inner) { }
}

/// <summary>Loads TorchScript files (<c>torch.jit.save</c> / <c>torch.jit.trace(...).save</c>) for summaries.</summary>
public static class TorchScriptLoader
{
    /// <summary>
    /// Loads <paramref name="path"/> as a TorchScript module taking <paramref name="inputCount"/> tensors
    /// (1 or 2) and returning anything. Throws <see cref="ModelFileException"/> for a missing file or one
    /// that is not TorchScript.
    /// </summary>
    public static Module Load(string path, int inputCount = 1)
    {
        TorchRuntime.EnsureLoaded();
        if (IO.InputFile.Problem(path, "a TorchScript file saved with torch.jit.save(...) in Python or TorchSharp") is { } problem)
            throw new ModelFileException($"{path}: {problem}.");
        Span<byte> head = stackalloc byte[4];
        using (var fs = File.OpenRead(path))
        {
            if (fs.Read(head) < 4 || head[0] != (byte)'P' || head[1] != (byte)'K')
                throw new ModelFileException($"{path}: not a TorchScript file (TorchScript files are zip archives starting with 'PK'; this one starts with 0x{Convert.ToHexString(head)}). " +
                    "Save the model with torch.jit.script(model).save(path) or torch.jit.trace(model, example).save(path); a state_dict saved with torch.save is not a module.");
        }
        if (IO.ZipIntegrity.Problem(path) is { } damaged) throw new ModelFileException($"{path}: {damaged}");
        try
        {
            Module module = inputCount switch
            {
                1 => jit.load<Tensor, object>(path),
                2 => jit.load<Tensor, Tensor, object>(path),
                _ => throw new ModelFileException($"{path}: TorchScript summaries take 1 or 2 tensor inputs; {inputCount} were given."),
            };
            // TorchSharp names every scripted module ScriptModule; the archive knows the original classes.
            Probes.ScriptTypeNames.Register(module, TorchScriptTypes.Read(path)
                .ToDictionary(kv => kv.Key, kv => TorchScriptTypes.ShortName(kv.Value), StringComparer.Ordinal));
            return module;
        }
        catch (Exception ex) when (ex is not ModelFileException and not OutOfMemoryException and not TorchRuntimeUnavailableException)
        {
            throw new ModelFileException($"{path}: libtorch could not load it as TorchScript ({ShapeExplainer.FirstLine(ex.Message)}). " +
                "Is it a complete file written by torch.jit.save? A truncated download or a torch.save checkpoint gives this error.", ex);
        }
    }
}
