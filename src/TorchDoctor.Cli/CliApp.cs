using System.CommandLine;
using System.Globalization;
using Spectre.Console;
using TorchDoctor.Findings;
using TorchDoctor.Inspection;
using TorchDoctor.Models;
using TorchDoctor.Reporting;
using TorchDoctor.Runtime;
using static TorchSharp.torch;
using Module = TorchSharp.torch.nn.Module;

namespace TorchDoctor.Cli;

/// <summary>Exit codes of the <c>torchdoctor</c> command.</summary>
public static class ExitCodes
{
    /// <summary>Success.</summary>
    public const int Ok = 0;
    /// <summary>Findings or differences were reported (commands that compare or diagnose).</summary>
    public const int Findings = 1;
    /// <summary>Bad usage or unreadable input.</summary>
    public const int BadInput = 2;
    /// <summary>The model's forward pass failed (and was explained).</summary>
    public const int ForwardFailed = 3;
    /// <summary>The TorchSharp native runtime could not be loaded.</summary>
    public const int RuntimeMissing = 4;
    /// <summary>TorchDoctor itself failed (a bug): one line on stderr, the stack trace with TORCHDOCTOR_DEBUG=1.</summary>
    public const int InternalError = 5;
}

/// <summary>Thrown for bad usage; the message is the one-line reason printed on stderr.</summary>
public sealed class UsageException(string message) : Exception(message);

/// <summary>The <c>torchdoctor</c> command line, runnable in-process (tests) with its own output writers.</summary>
public sealed partial class CliApp
{
    private readonly TextWriter _out;
    private readonly TextWriter _err;
    private readonly IAnsiConsole _console;

    /// <summary>Standard output (JSON goes here, alone).</summary>
    internal TextWriter Out => _out;
    /// <summary>Standard error (one-line reasons).</summary>
    internal TextWriter Err => _err;
    /// <summary>The Spectre console writing to standard output.</summary>
    internal IAnsiConsole Console => _console;

    /// <summary>Creates the app writing to the given streams.</summary>
    public CliApp(TextWriter stdout, TextWriter stderr, bool interactive = false)
    {
        _out = stdout;
        _err = stderr;
        _console = AnsiConsole.Create(new AnsiConsoleSettings
        {
            Out = new AnsiConsoleOutput(stdout),
            Ansi = interactive ? AnsiSupport.Detect : AnsiSupport.No,
            ColorSystem = interactive ? ColorSystemSupport.Detect : ColorSystemSupport.NoColors,
        });
        if (!interactive) _console.Profile.Width = 240;
    }

    /// <summary>Parses and runs <paramref name="args"/>; returns the exit code.</summary>
    public int Run(string[] args)
    {
        var root = BuildCommands();
        var parse = root.Parse(args);
        if (parse.Errors.Count > 0)
        {
            var reason = string.Join(" ", parse.Errors[0].Message.Split(['\n', '\r', '\t'], StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries));
            _err.WriteLine("torchdoctor: " + reason + " (see torchdoctor --help)");
            return ExitCodes.BadInput;
        }
        try
        {
            return parse.Invoke(new InvocationConfiguration { Output = _out, Error = _err, EnableDefaultExceptionHandler = false });
        }
        catch (UsageException e)
        {
            _err.WriteLine("torchdoctor: " + e.Message);
            return ExitCodes.BadInput;
        }
        catch (ModelFileException e)
        {
            _err.WriteLine("torchdoctor: " + e.Message);
            return ExitCodes.BadInput;
        }
        catch (TorchRuntimeUnavailableException e)
        {
            _err.WriteLine("torchdoctor: " + e.Message);
            return ExitCodes.RuntimeMissing;
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException)
        {
            _err.WriteLine("torchdoctor: " + e.Message);
            return ExitCodes.BadInput;
        }
        catch (Exception e) when (e is not OutOfMemoryException)
        {
            _err.WriteLine($"torchdoctor: internal error ({e.GetType().Name}: {e.Message.Split('\n')[0].Trim()}); please report it with the command line. Set TORCHDOCTOR_DEBUG=1 for the stack trace.");
            if (Environment.GetEnvironmentVariable("TORCHDOCTOR_DEBUG") == "1") _err.WriteLine(e);
            return ExitCodes.InternalError;
        }
    }

    private RootCommand BuildCommands()
    {
        var root = new RootCommand("TorchDoctor: debugging and diagnostics for TorchSharp models and training runs.");
        // One file per command family under Commands/; add a line here for a new one.
        root.Subcommands.Add(SummaryCommand());
        root.Subcommands.Add(ModelsCommand());
        root.Subcommands.Add(DemoCommand());
        root.Subcommands.Add(CheckDataCommand());
        root.Subcommands.Add(PrintCommand());
        root.Subcommands.Add(CompareCommand());
        root.Subcommands.Add(ProfileCommand());
        return root;
    }

    /// <summary>Parses <c>1,3,224,224</c> (or <c>1x3x224x224</c>).</summary>
    public static long[] ParseShape(string text)
    {
        var body = text.Trim().Trim('[', ']', '(', ')');
        var parts = body.Contains(',') ? body.Split(',', StringSplitOptions.TrimEntries) : body.Split(['x', 'X']);
        if (parts.Length == 0) throw new UsageException($"--input '{text}' is empty; write a shape like 1,3,224,224");
        var dims = new long[parts.Length];
        for (int i = 0; i < parts.Length; i++)
            if (!long.TryParse(parts[i], NumberStyles.None, CultureInfo.InvariantCulture, out dims[i]) || dims[i] <= 0)
                throw new UsageException($"--input '{text}' is not a shape: '{parts[i]}' is not a positive whole number (write e.g. 1,3,224,224)");
        return dims;
    }

    /// <summary>Parses a dtype name.</summary>
    public static ScalarType ParseDType(string text) => text.Trim().ToLowerInvariant() switch
    {
        "float" or "float32" or "f32" => ScalarType.Float32,
        "double" or "float64" or "f64" => ScalarType.Float64,
        "half" or "float16" or "f16" => ScalarType.Float16,
        "bfloat16" or "bf16" => ScalarType.BFloat16,
        "long" or "int64" or "i64" => ScalarType.Int64,
        "int" or "int32" or "i32" => ScalarType.Int32,
        "uint8" or "byte" => ScalarType.Byte,
        "bool" => ScalarType.Bool,
        _ => throw new UsageException($"--dtype '{text}' is not a dtype; use float32, float64, float16, bfloat16, long, int, uint8 or bool"),
    };

    private static SummaryColumns ParseColumns(string? text)
    {
        if (string.IsNullOrWhiteSpace(text)) return SummaryColumns.Default;
        var c = SummaryColumns.None;
        foreach (var part in text.Split(',', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries))
            c |= part.ToLowerInvariant() switch
            {
                "input" or "input-shape" => SummaryColumns.InputShape,
                "output" or "output-shape" => SummaryColumns.OutputShape,
                "params" or "param" => SummaryColumns.Params,
                "percent" or "params-percent" => SummaryColumns.ParamsPercent,
                "trainable" => SummaryColumns.Trainable,
                "kernel" or "kernel-size" => SummaryColumns.KernelSize,
                "mult-adds" or "macs" => SummaryColumns.MultAdds,
                "time" => SummaryColumns.Time,
                "all" => SummaryColumns.All,
                _ => throw new UsageException($"--columns: unknown column '{part}'; use input, output, params, percent, trainable, kernel, mult-adds, time or all"),
            };
        return c;
    }
}
