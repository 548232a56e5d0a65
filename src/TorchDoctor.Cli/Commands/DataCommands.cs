using TorchDoctor.Cli.Rendering;
using System.CommandLine;
using Spectre.Console;
using TorchDoctor.Data;
using TorchDoctor.Findings;
using TorchDoctor.Models;
using TorchDoctor.Observations;
using TorchDoctor.Reporting;
using TorchDoctor.Runtime;
using static TorchSharp.torch;

namespace TorchDoctor.Cli;

/// <summary>`torchdoctor check-data`.</summary>
public sealed partial class CliApp
{
    private Command CheckDataCommand()
    {
        var fashion = new Option<string?>("--fashion-mnist") { Description = $"Check Fashion-MNIST (train, and test for overlap) from DIR (default {FashionMnist.DefaultDirectory}, Debian package {FashionMnist.Package}).", Arity = ArgumentArity.ZeroOrOne, HelpName = "DIR" };
        var idx = new Option<string[]>("--idx") { Description = "An IDX images file and its labels file (plain or .gz).", Arity = new ArgumentArity(2, 2), AllowMultipleArgumentsPerToken = true, HelpName = "IMAGES LABELS" };
        var testIdx = new Option<string[]>("--test-idx") { Description = "IDX images and labels of a validation/test split to check and compare for overlap.", Arity = new ArgumentArity(2, 2), AllowMultipleArgumentsPerToken = true, HelpName = "IMAGES LABELS" };
        var images = new Option<string?>("--images") { Description = "A folder with one sub-folder of images per class (decoded by TorchVision/SkiaSharp).", HelpName = "DIR" };
        var testImages = new Option<string?>("--test-images") { Description = "A folder of the same layout for the validation/test split.", HelpName = "DIR" };
        var csv = new Option<string?>("--csv") { Description = "A CSV file of numeric features with a label column.", HelpName = "FILE" };
        var testCsv = new Option<string?>("--test-csv") { Description = "A CSV file for the validation/test split.", HelpName = "FILE" };
        var labelColumn = new Option<string?>("--label-column") { Description = "CSV label column: header name or 0-based number (default: the last).", HelpName = "NAME" };
        var classes = new Option<int?>("--classes") { Description = "Number of classes the model predicts (labels must be 0..N-1)." };
        var model = new Option<string?>("--model", "-m") { Description = "A built-in model (see `torchdoctor models`): classes from its last Linear, channels from its first Conv2d." };
        var sample = new Option<long?>("--sample") { Description = "Check a seeded random sample of N samples per split instead of all.", HelpName = "N" };
        var seed = new Option<long>("--seed") { Description = "Seed of --sample.", DefaultValueFactory = _ => 0 };
        var noTest = new Option<bool>("--no-test") { Description = "Fashion-MNIST: check the training split only." };
        var raw = new Option<bool>("--raw") { Description = "Do not scale pixels to [0, 1] when reading (see what the raw files hold)." };
        var batchSize = new Option<int?>("--batch-size") { Description = "Also check a DataLoader of the training split with this batch size." };
        var shuffle = new Option<bool>("--shuffle") { Description = "With --batch-size: the loader shuffles." };
        var dropLast = new Option<bool>("--drop-last") { Description = "With --batch-size: the loader drops the last incomplete batch." };
        var json = new Option<bool>("--json") { Description = "Print one JSON object." };
        var loss = new Option<string?>("--loss") { Description = "The loss the labels meet: cross-entropy (default: int64 class indices), bce (float 0/1 targets) or mse (float targets).", HelpName = "LOSS" };
        loss.AcceptOnlyFromAmong("cross-entropy", "ce", "bce", "mse");
        var maxPixels = new Option<long?>("--max-image-pixels") { Description = $"Refuse images with more pixels than this (read from the header before decoding; default {ImageFolderDataset.DefaultMaxPixels:N0}).", HelpName = "N" };
        var maxMemory = MaxMemoryOption();
        var htmlReport = ReportOption();
        var cmd = new Command("check-data", "Check a data set before training: dtypes, shapes, NaN/Inf, ranges and Normalize values, labels and class balance, duplicates and train/test overlap, loader settings.")
        {
            fashion, idx, testIdx, images, testImages, csv, testCsv, labelColumn, classes, model, sample, seed, noTest, raw, batchSize, shuffle, dropLast, json,
            loss, maxPixels, maxMemory, htmlReport,
        };
        cmd.SetAction(p =>
        {
            bool isFashion = p.GetResult(fashion) is not null;
            var idxFiles = p.GetValue(idx);
            var imagesDir = p.GetValue(images);
            var csvFile = p.GetValue(csv);
            int sources = (isFashion ? 1 : 0) + (idxFiles is { Length: > 0 } ? 1 : 0) + (imagesDir is null ? 0 : 1) + (csvFile is null ? 0 : 1);
            if (sources != 1)
                throw new UsageException(sources == 0 ? "give a data set: --fashion-mnist [DIR], --idx IMAGES LABELS, --images DIR or --csv FILE"
                    : "give one data set (--fashion-mnist, --idx, --images or --csv), not several");
            if (p.GetValue(classes) is <= 0) throw new UsageException("--classes must be positive");
            if (p.GetValue(sample) is <= 0) throw new UsageException("--sample must be positive");
            if (p.GetValue(batchSize) is <= 0) throw new UsageException("--batch-size must be positive");
            var modelName = p.GetValue(model);
            var entry = modelName is null ? null : ModelZoo.Find(modelName) ?? throw new UsageException(
                $"unknown model '{modelName}'. Known: {string.Join(", ", ModelZoo.All.Keys)}");
            bool scale = !p.GetValue(raw);
            if (p.GetValue(maxPixels) is <= 0) throw new UsageException("--max-image-pixels must be positive");
            long? memoryLimit = ParseMaxMemory(p.GetValue(maxMemory));
            var lossName = p.GetValue(loss) switch { null => null, "ce" => "cross-entropy", var x => x };
            // Memory before work: the readers hold the files' data (IDX: decompressed bytes; CSV: text and floats, ~10× the file).
            CheckDataMemory(idxFiles, p.GetValue(testIdx), csvFile, p.GetValue(testCsv), memoryLimit);
            TorchRuntime.EnsureLoaded();
            var splits = new List<DataSplit>();
            string title;
            IReadOnlyList<string>? classNames = null;
            int? k = p.GetValue(classes);
            string? kSource = k is null ? null : "--classes";
            try
            {
                if (isFashion)
                {
                    var dir = p.GetValue(fashion) ?? FashionMnist.DefaultDirectory;
                    splits.Add(new DataSplit("train", FashionMnist.Load(true, dir, scale)));
                    if (!p.GetValue(noTest)) splits.Add(new DataSplit("test", FashionMnist.Load(false, dir, scale)));
                    title = $"Fashion-MNIST ({dir})";
                    classNames = FashionMnist.ClassNames;
                    if (k is null && entry is null) (k, kSource) = (FashionMnist.Classes, "Fashion-MNIST");
                }
                else if (idxFiles is { Length: > 0 })
                {
                    splits.Add(new DataSplit("train", IdxDataset.Load(idxFiles[0], idxFiles[1], scale)));
                    if (p.GetValue(testIdx) is { Length: 2 } t) splits.Add(new DataSplit("test", IdxDataset.Load(t[0], t[1], scale)));
                    title = $"IDX {Path.GetFileName(idxFiles[0])} + {Path.GetFileName(idxFiles[1])}";
                }
                else if (imagesDir is not null)
                {
                    long px = p.GetValue(maxPixels) ?? ImageFolderDataset.DefaultMaxPixels;
                    var train = new ImageFolderDataset(imagesDir, scale) { MaxPixels = px };
                    splits.Add(new DataSplit("train", train));
                    if (p.GetValue(testImages) is { } ti) splits.Add(new DataSplit("test", new ImageFolderDataset(ti, scale) { MaxPixels = px }));
                    title = $"Images {imagesDir}";
                    classNames = train.Classes;
                    if (k is null && entry is null) (k, kSource) = (train.Classes.Count, "class folders");
                }
                else
                {
                    splits.Add(new DataSplit("train", CsvDataset.Load(csvFile!, p.GetValue(labelColumn))));
                    if (p.GetValue(testCsv) is { } tc) splits.Add(new DataSplit("test", CsvDataset.Load(tc, p.GetValue(labelColumn))));
                    title = $"CSV {csvFile}";
                }
            }
            catch (Exception e) when (e is DataFileException or DataUnavailableException)
            {
                throw new UsageException(e.Message);
            }
            using var m = entry?.Create();
            var options = new DataCheckOptions { Classes = k, ClassesSource = kSource, Model = m, MaxSamples = p.GetValue(sample), Seed = p.GetValue(seed), Loss = lossName };
            var report = WithProgress(options, o => DatasetChecker.Check(splits, o));
            var extra = new List<Finding>();
            if (splits[0].Dataset is CsvDataset csvTrain)
                extra.AddRange(TorchDoctor.Detectors.DataInputDetectors.CsvColumns(csvTrain.ColumnStats, csvTrain.TextColumns));
            if (splits[0].Dataset is ImageFolderDataset folder && lossName is null or "cross-entropy")
                extra.AddRange(TorchDoctor.Detectors.DataInputDetectors.HeadClasses(report.Model, folder.Classes.Count, $"{folder.Classes.Count} class folders in {folder.Root}"));
            if (extra.Count > 0) report = report with { Findings = report.Findings.Concat(extra).OrderByDescending(f => f.Severity).ToList() };
            LoaderReport? loader = null;
            if (p.GetValue(batchSize) is { } bs)
            {
                using var dl = new TorchSharp.Modules.DataLoader(splits[0].Dataset, bs, p.GetValue(shuffle), seed: (int)p.GetValue(seed), drop_last: p.GetValue(dropLast), disposeDataset: false);
                loader = LoaderChecker.Check(dl);
                report = report with { Findings = report.Findings.Concat(loader.Findings).OrderByDescending(f => f.Severity).ToList() };
            }
            if (p.GetValue(json)) Out.WriteLine(new DataCheckJsonExporter().Render(report));
            else
            {
                DataConsole.Write(Console, report, title, classNames);
                if (loader is not null)
                    Console.MarkupLine($"[grey]Loader: batch_size {loader.Observation.BatchSize}, {loader.Observation.Batches:N0} batches, last batch {loader.Observation.LastBatchSize}, shuffle {(loader.Observation.Shuffled == true ? "on" : "off")}, drop_last {(loader.Observation.DropLast ? "on" : "off")}.[/]");
            }
            if (p.GetValue(htmlReport) is { } reportPath)
            {
                // The grid shows the training split's images as the model receives them (after the readers' scaling).
                var imageField = report.Primary.Fields.FirstOrDefault(f => f.Role == FieldRole.Image && f.Elements > 0);
                var samples = imageField is not null && report.Primary.Labels is { } labels
                    ? DatasetSamples.PerClass(splits[0].Dataset, imageField, labels.Field) : null;
                WriteReport(ReportModels.From(report, title, classNames, samples), reportPath, p.GetValue(json));
            }
            foreach (var s in splits) s.Dataset.Dispose();
            return report.Findings.Any(f => f.Severity >= Severity.Warning) ? ExitCodes.Findings : ExitCodes.Ok;
        });
        return cmd;
    }

    private static void CheckDataMemory(string[]? idxFiles, string[]? testIdx, string? csvFile, string? testCsv, long? limit)
    {
        double need = 0;
        foreach (var f in (idxFiles ?? []).Concat(testIdx ?? []))
        {
            if (!File.Exists(f)) continue;
            long len = new FileInfo(f).Length;
            need += len;                                            // the file's bytes
            need += GzipSize(f) ?? len;                             // the decompressed IDX
        }
        foreach (var f in new[] { csvFile, testCsv })
            if (f is not null && File.Exists(f)) need += 10.0 * new FileInfo(f).Length;
        if (need > 0) TorchDoctor.IO.MemoryBudget.Require(need, "reading the data files", limit);
    }

    /// <summary>The uncompressed size a gzip file's trailer states (mod 2^32), or null when it is not gzip.</summary>
    private static long? GzipSize(string path)
    {
        try
        {
            using var fs = File.OpenRead(path);
            if (fs.Length < 18 || fs.ReadByte() != 0x1f || fs.ReadByte() != 0x8b) return null;
            fs.Seek(-4, SeekOrigin.End);
            var b = new byte[4];
            fs.ReadExactly(b);
            return BitConverter.ToUInt32(b);
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException) { return null; }
    }

    /// <summary>Runs the check with a Spectre progress bar on stderr when stderr is a terminal (stdout stays clean for JSON).</summary>
    private DataCheckReport WithProgress(DataCheckOptions options, Func<DataCheckOptions, DataCheckReport> run)
    {
        if (!ReferenceEquals(Err, System.Console.Error) || System.Console.IsErrorRedirected)
            return run(options);
        var errConsole = AnsiConsole.Create(new AnsiConsoleSettings
        {
            Out = new AnsiConsoleOutput(System.Console.Error),
            Ansi = AnsiSupport.Detect,
            Interactive = InteractionSupport.Yes, // stderr is a terminal (checked above), whatever stdout is
        });
        DataCheckReport? result = null;
        errConsole.Progress().AutoClear(true).HideCompleted(false)
            .Columns(new TaskDescriptionColumn(), new ProgressBarColumn(), new PercentageColumn(), new RemainingTimeColumn())
            .Start(ctx =>
            {
                var tasks = new Dictionary<string, ProgressTask>();
                result = run(options with
                {
                    Progress = (split, done, total) =>
                    {
                        if (!tasks.TryGetValue(split, out var t)) tasks[split] = t = ctx.AddTask($"checking {split}", maxValue: Math.Max(1, total));
                        t.Value = done;
                    },
                });
            });
        return result!;
    }
}
