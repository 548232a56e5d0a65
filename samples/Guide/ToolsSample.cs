using TorchDoctor.Logs;
using static TorchSharp.torch;
using static TorchSharp.torch.nn;

namespace TorchDoctor.Guide;

/// <summary>Chapter 8: tools. A run written where people look (TensorBoard, a JSONL log) and read back.</summary>
internal static class ToolsSample
{
    public static bool Run(TextWriter o)
    {
        var runDir = Directory.CreateTempSubdirectory("guide-run-").FullName;
        try
        {
            var (x, y) = Data.Blobs(256, features: 10, classes: 2);
            var model = Sequential(("fc1", Linear(10, 32)), ("relu", ReLU()), ("fc2", Linear(32, 2)));
            var optimizer = optim.SGD(model.parameters(), 0.05);
            using (var doctor = model.AttachDoctor(optimizer, runDirectory: runDir))
            {
                for (int step = 0; step < 20; step++)
                {
                    using var scope = NewDisposeScope();
                    var (xb, yb) = Data.Batch(x, y, step, 32);
                    doctor.BeginStep();
                    optimizer.zero_grad();
                    var loss = functional.cross_entropy(model.call(xb), yb);
                    loss.backward();
                    doctor.AfterBackward(loss);
                    optimizer.step();
                    doctor.EndStep();
                    if (step % 5 == 4) doctor.LogScalar("val/loss", loss.item<float>() * 1.1);
                }
            }
            // What `tensorboard --logdir` shows, read by TorchDoctor's own event-file reader.
            var events = Directory.EnumerateFiles(runDir, "*", SearchOption.AllDirectories).Where(EventFileReader.IsEventFile).ToList();
            int points = 0;
            foreach (var file in events)
            {
                var log = EventFileReader.ReadFile(file);
                points += log.Scalars.Values.Sum(v => v.Count);
                o.WriteLine($"{Path.GetFileName(file)}: tags {string.Join(", ", log.Tags.Take(6))}{(log.Tags.Count > 6 ? ", …" : "")}");
            }
            o.WriteLine($"{events.Count} event file(s), {points} scalar points; run.jsonl {new FileInfo(Path.Combine(runDir, "run.jsonl")).Length:N0} bytes");
            // `torchdoctor analyze <dir>` is this call: the curve detectors over any TensorBoard log.
            var analysis = LogAnalysis.Analyze([runDir]);
            o.WriteLine($"analyze: {analysis.Count} run(s), {analysis.Sum(a => a.Findings.Count)} finding(s)");
            return events.Count > 0 && points > 0 && File.Exists(Path.Combine(runDir, "run.jsonl"));
        }
        finally
        {
            try { Directory.Delete(runDir, recursive: true); } catch (IOException) { }
        }
    }
}
