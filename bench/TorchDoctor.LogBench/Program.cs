// Event-file reading speed, and the event-file fixture the tests read.
//
//   dotnet run -c Release --project bench/TorchDoctor.LogBench -- [--events N] [--rounds R]
//       writes N scalar events (default 1,000,000) in one file, then reads it R times (default 5) with
//       EventFileReader, interleaved with a plain read of the same bytes (the noise-control row: disk and
//       machine load), and prints a markdown table.
//   dotnet run -c Release --project bench/TorchDoctor.LogBench -- make-fixture DIR
//       writes tests/TorchDoctor.Tests/Fixtures/events/ content: TorchSharp's SummaryWriter scalars and text, plus
//       PyTorch-style tensor-encoded scalars (add_scalar(new_style=True)) and TensorFlow-2-style tensor_content scalars.
using System.Diagnostics;
using System.Globalization;
using Google.Protobuf;
using Tensorboard;
using TorchDoctor.Logs;
using TorchSharp;

if (args.Length >= 2 && args[0] == "make-fixture")
{
    MakeFixture(args[1]);
    return;
}
int events = int.Parse(Arg("--events", "1000000"), CultureInfo.InvariantCulture);
int rounds = int.Parse(Arg("--rounds", "5"), CultureInfo.InvariantCulture);
var path = Path.Combine(Path.GetTempPath(), $"torchdoctor-bench-{Environment.ProcessId}.tfevents");
try
{
    using (var fs = File.Create(path))
    {
        var header = new Event { FileVersion = "brain.Event:2", WallTime = 1.7e9 };
        TfRecord.Write(fs, header.ToByteArray());
        string[] tags = ["train/loss", "val/loss", "train/accuracy", "lr"];
        for (int i = 0; i < events; i++)
        {
            var ev = new Event { Step = i / tags.Length, WallTime = 1.7e9 + i * 0.001, Summary = new Summary() };
            ev.Summary.Value.Add(new Summary.Types.Value { Tag = tags[i % tags.Length], SimpleValue = (float)Math.Exp(-i * 1e-6) });
            TfRecord.Write(fs, ev.ToByteArray());
        }
    }
    long bytes = new FileInfo(path).Length;
    Console.WriteLine($"TorchDoctor event-file read benchmark ({events:N0} scalar events, {bytes / 1e6:F1} MB, {Environment.ProcessorCount} cores, {DateTime.UtcNow:yyyy-MM-dd})");
    var readTimes = new List<double>();
    var rawTimes = new List<double>();
    EventFileReader.ReadFile(path);   // warm-up (JIT)
    for (int r = 0; r < rounds; r++)
    {
        var sw = Stopwatch.StartNew();
        var raw = File.ReadAllBytes(path);
        rawTimes.Add(sw.Elapsed.TotalSeconds);
        GC.KeepAlive(raw);
        sw.Restart();
        var log = EventFileReader.ReadFile(path);
        readTimes.Add(sw.Elapsed.TotalSeconds);
        if (log.ScalarCount != events) throw new InvalidOperationException($"read {log.ScalarCount} scalars, wrote {events}");
    }
    Console.WriteLine();
    Console.WriteLine("| what | median s | min s | max s | scalar events/s (median) |");
    Console.WriteLine("|---|---|---|---|---|");
    Row("EventFileReader.ReadFile (CRC check + protobuf parse)", readTimes);
    Row("noise control: File.ReadAllBytes of the same file", rawTimes);
    Console.WriteLine();
    Console.WriteLine($"goal: {events:N0} scalar events in < 3 s: {(Median(readTimes) < 3 ? "met" : "NOT met")}");

    void Row(string what, List<double> t) => Console.WriteLine(
        $"| {what} | {Median(t):F3} | {t.Min():F3} | {t.Max():F3} | {events / Median(t):N0} |");
}
finally
{
    File.Delete(path);
}

static double Median(List<double> t) { var s = t.Order().ToList(); return s[s.Count / 2]; }

string Arg(string name, string fallback)
{
    int i = Array.IndexOf(args, name);
    return i >= 0 && i + 1 < args.Length ? args[i + 1] : fallback;
}

static void MakeFixture(string dir)
{
    Directory.CreateDirectory(dir);
    foreach (var f in Directory.GetFiles(dir)) File.Delete(f);
    // 1) TorchSharp's own writer: simple_value scalars, a text, a histogram.
    var w = torch.utils.tensorboard.SummaryWriter(dir);
    for (int s = 0; s < 50; s++) w.add_scalar("loss", 1.0f / (1 + s * 0.1f), s);
    w.add_text("note", "written by TorchSharp's SummaryWriter", 0);
    using (var t = torch.linspace(-1, 1, 100)) w.add_histogram("weights/fc", t, 0);
    // 2) Appended to the same file: scalars encoded the way PyTorch (new_style) and TensorFlow 2 write them.
    var file = Directory.GetFiles(dir).Single();
    using var fs = new FileStream(file, FileMode.Append);
    for (int s = 0; s < 10; s++)
    {
        var v = new Summary.Types.Value
        {
            Tag = "pytorch_new_style",
            Tensor = new TensorProto { Dtype = DataType.DtFloat, TensorShape = new TensorShapeProto() },
            Metadata = new SummaryMetadata { PluginData = new SummaryMetadata.Types.PluginData { PluginName = "scalars" } },
        };
        v.Tensor.FloatVal.Add(0.5f * s);
        var ev = new Event { Step = s, WallTime = 1.7e9 + s, Summary = new Summary() };
        ev.Summary.Value.Add(v);
        TfRecord.Write(fs, ev.ToByteArray());
    }
    for (int s = 0; s < 5; s++)
    {
        var v = new Summary.Types.Value
        {
            Tag = "tf2_double",
            Tensor = new TensorProto { Dtype = DataType.DtDouble, TensorShape = new TensorShapeProto(), TensorContent = ByteString.CopyFrom(BitConverter.GetBytes(s * 1.25)) },
        };
        var ev = new Event { Step = s, WallTime = 1.7e9 + s, Summary = new Summary() };
        ev.Summary.Value.Add(v);
        TfRecord.Write(fs, ev.ToByteArray());
    }
    Console.WriteLine(file);
}
