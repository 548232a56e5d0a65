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

/// <summary>Thrown when standard output cannot be written (closed, or a pipe whose reader went away).</summary>
public sealed class OutputClosedException(string message, Exception inner) : Exception(message, inner);

/// <summary>A writer that turns a failed write on a closed stream into <see cref="OutputClosedException"/>.</summary>
public sealed class GuardedWriter(TextWriter inner, string name) : TextWriter
{
    /// <inheritdoc />
    public override System.Text.Encoding Encoding => inner.Encoding;

    private T Guard<T>(Func<T> f)
    {
        try { return f(); }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException or ObjectDisposedException)
        {
            throw new OutputClosedException($"cannot write to {name} ({e.GetType().Name}: {e.Message.Split('\n')[0].Trim().TrimEnd('.')}); is it closed? Redirect it to a file instead (> out.txt).", e);
        }
    }

    /// <inheritdoc />
    public override void Write(char value) => Guard(() => { inner.Write(value); return 0; });
    /// <inheritdoc />
    public override void Write(string? value) => Guard(() => { inner.Write(value); return 0; });
    /// <inheritdoc />
    public override void Write(char[] buffer, int index, int count) => Guard(() => { inner.Write(buffer, index, count); return 0; });
    /// <inheritdoc />
    public override void WriteLine(string? value) => Guard(() => { inner.WriteLine(value); return 0; });
    /// <inheritdoc />
    public override void Flush() => Guard(() => { inner.Flush(); return 0; });
}

/// <summary>The <c>torchdoctor</c> command line, runnable in-process (tests) with its own output writers.</summary>
public sealed partial class CliApp
{
    private readonly TextWriter _out;
    private readonly TextWriter _err;
    private IAnsiConsole _console;
    private readonly bool _interactive;

    /// <summary>Standard output (JSON goes here, alone).</summary>
    internal TextWriter Out => _out;
    /// <summary>Standard error (one-line reasons).</summary>
    internal TextWriter Err => _err;
    /// <summary>The Spectre console writing to standard output.</summary>
    internal IAnsiConsole Console => _console;

    /// <summary>Creates the app writing to the given streams.</summary>
    public CliApp(TextWriter stdout, TextWriter stderr, bool interactive = false)
    {
        // Not a terminal: no padding at the ends of lines (Spectre pads table lines to the console width).
        _out = interactive ? stdout : new Rendering.TrailingSpaceTrimmingWriter(stdout);
        _err = stderr;
        _interactive = interactive;
        _console = AnsiConsole.Create(new AnsiConsoleSettings
        {
            Out = new AnsiConsoleOutput(_out),
            Ansi = interactive ? AnsiSupport.Detect : AnsiSupport.No,
            ColorSystem = interactive ? ColorSystemSupport.Detect : ColorSystemSupport.NoColors,
        });
        if (!interactive) _console.Profile.Width = 240;
    }

    /// <summary>Parses and runs <paramref name="args"/>; returns the exit code.</summary>
    public int Run(string[] args)
    {
        var root = BuildCommands();
        // Global output options (any position): --no-color (or NO_COLOR set) and --quiet.
        if (args.Contains("--no-color") || !string.IsNullOrEmpty(Environment.GetEnvironmentVariable("NO_COLOR")))
            _console = AnsiConsole.Create(new AnsiConsoleSettings { Out = new AnsiConsoleOutput(_out), Ansi = AnsiSupport.No, ColorSystem = ColorSystemSupport.NoColors });
        Quiet = args.Contains("--quiet") || args.Contains("-q");
        var parse = root.Parse(args);
        if (parse.Errors.Count > 0)
        {
            // "Unrecognized command or argument 'x'" says more than "Required command was not provided" that comes first.
            var error = parse.Errors.FirstOrDefault(e => e.Message.StartsWith("Unrecognized", StringComparison.Ordinal)) ?? parse.Errors[0];
            var reason = string.Join(" ", error.Message.Split(['\n', '\r', '\t'], StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries));
            if (reason.Contains("--idx", StringComparison.Ordinal) || reason.Contains("--test-idx", StringComparison.Ordinal))
                reason = "--idx and --test-idx take two files, IMAGES then LABELS (e.g. --idx train-images.gz train-labels.gz): " + reason;
            if (args.Length > 0 && !args[0].StartsWith('-') && root.Subcommands.All(c => c.Name != args[0]))
                reason = $"unknown command '{args[0]}'; the commands are {string.Join(", ", root.Subcommands.Select(c => c.Name))}";
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
        catch (Logs.LogNotFoundException e)
        {
            _err.WriteLine("torchdoctor: " + e.Message);
            return ExitCodes.BadInput;
        }
        catch (ModelFileException e)
        {
            _err.WriteLine("torchdoctor: " + e.Message);
            return ExitCodes.BadInput;
        }
        catch (TorchDoctor.Data.DataFileException e)
        {
            _err.WriteLine("torchdoctor: " + e.Message);
            return ExitCodes.BadInput;
        }
        catch (TorchDoctor.IO.MemoryBudgetException e)
        {
            _err.WriteLine("torchdoctor: " + e.Message);
            return ExitCodes.BadInput;
        }
        catch (OutputClosedException e)
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

    /// <summary>The parse errors of <paramref name="args"/> without running anything (empty when the command line is valid).</summary>
    public IReadOnlyList<string> ParseErrors(string[] args) => BuildCommands().Parse(args).Errors.Select(e => e.Message).ToList();

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
        root.Subcommands.Add(LintCommand());
        root.Subcommands.Add(AnalyzeCommand());
        root.Options.Add(new Option<bool>("--no-color") { Description = "No colours or styles (also when NO_COLOR is set; output that is not a terminal is always plain).", Recursive = true });
        root.Options.Add(new Option<bool>("--quiet", "-q") { Description = "Only results, findings and errors: no progress bars or notes.", Recursive = true });
        root.Subcommands.Add(SanityCommand());
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

    /// <summary>The <c>--max-memory</c> option shared by commands that check memory before work.</summary>
    internal static Option<string?> MaxMemoryOption() => new("--max-memory")
    {
        Description = "The most memory the work may need, e.g. 8G or 512M (default: the memory available now, MemAvailable). Work whose estimate is larger is refused before it starts.",
        HelpName = "SIZE",
    };

    internal static long? ParseMaxMemory(string? text)
    {
        if (text is null) return null;
        return TorchDoctor.IO.MemoryBudget.ParseSize(text) ?? throw new UsageException($"--max-memory '{text}' is not a size; write e.g. 8G, 512M or a number of bytes");
    }

    private static SummaryColumns ParseColumns(string? text)
    {
        if (text is null) return SummaryColumns.Default;
        if (text.Split(',', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries).Length == 0)
            throw new UsageException($"--columns '{text}' names no column; use input, output, params, percent, trainable, kernel, mult-adds, time or all");
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
