using TorchDoctor.Findings;
using TorchDoctor.Training;
using TorchSharp;
using static TorchSharp.torch;
using Module = TorchSharp.torch.nn.Module<TorchSharp.torch.Tensor, TorchSharp.torch.Tensor>;

namespace TorchDoctor.Demos;

/// <summary>A training recipe of a demo: the model, the optimizer and what runs between backward and step.</summary>
internal sealed record Recipe(
    string Label,
    Func<Module> Model,
    Func<Module, optim.Optimizer> Optimizer,
    double? ClipNorm = null);

/// <summary>Runs a demo recipe as a plain TorchSharp loop with a <see cref="Doctor"/> attached.</summary>
internal static class DemoTrainer
{
    /// <summary>Loads the demo data set: the built-in generated one, or Fashion-MNIST from the Debian package.</summary>
    public static (DemoData Train, DemoData Test) Load(DemoOptions o)
    {
        if (o.Data == "generated")
        {
            var all = DemoData.Generated(5120, o.Seed);
            return all.Split(1024);
        }
        if (o.Data == "fashion-mnist") return FashionMnistDemoData.Load();
        throw new ArgumentException($"unknown data '{o.Data}': use generated or fashion-mnist");
    }

    public static DemoRun Run(Recipe r, DemoOptions o, DemoData train, DemoData test, int steps, int interval,
        Func<Doctor, IDictionary<string, double>, int>? extra = null)
    {
        torch.manual_seed(o.Seed);
        using var model = r.Model();
        var opt = r.Optimizer(model);
        var sinks = o.RunDirectory is null ? [] : Reporting.RunSinks.ForDirectory(Path.Combine(o.RunDirectory, RunName(r.Label)));
        // TensorBoard's image tab: the training images per class, as the model receives them.
        foreach (var tb in sinks.OfType<Reporting.TensorBoardSink>())
            tb.AddSampleGrid(Reporting.ReportModels.Grid(train.SamplesPerClass(), $"Training samples per class ({train.Name})"));
        using var doctor = Doctor.Attach(model, opt, new DoctorOptions { SampleInterval = interval, Window = 10, Sinks = sinks, Recording = new RunRecorderOptions { Name = r.Label } });
        var clipper = r.ClipNorm is { } maxNorm0 ? new GradientClipper(model.parameters(), maxNorm0) : null;
        var losses = new List<double>();
        double maxNorm = 0;
        int nonFiniteSteps = 0;
        int step = 0;
        model.train();
        foreach (var (x, y) in train.Forever(64, o.Seed))
        {
            using (var scope = NewDisposeScope())
            {
                doctor.BeginStep();
                opt.zero_grad();
                var loss = nn.functional.cross_entropy(model.call(x), y);
                loss.backward();
                doctor.AfterBackward(loss);
                if (clipper is not null) maxNorm = Math.Max(maxNorm, clipper.Clip());
                opt.step();
                doctor.EndStep();
                var l = doctor.LastStep!.Loss ?? double.NaN;
                losses.Add(l);
                if (!double.IsFinite(l)) nonFiniteSteps++;
                if (doctor.History.GlobalGradNorms.Count > 0) maxNorm = Math.Max(maxNorm, doctor.History.GlobalGradNorms.Last.Norm);
            }
            x.Dispose();
            y.Dispose();
            if (o.RunDirectory is not null && (step % o.EvalInterval == 0 || step == steps - 1))
            {
                var (valLoss, valAcc) = Evaluate(model, test);
                doctor.LogScalar("val/loss", valLoss);
                doctor.LogScalar("val/accuracy", valAcc);
            }
            if (++step == steps) break;
            if (step % 50 == 0) o.Log?.Invoke($"{r.Label}: step {step}/{steps}, loss {losses[^1]:G4}");
        }
        var metrics = new Dictionary<string, double>
        {
            ["steps"] = steps,
            ["finalLoss"] = losses.Skip(Math.Max(0, losses.Count - 20)).DefaultIfEmpty(double.NaN).Average(),
            ["testAccuracy"] = Accuracy(model, test),
            ["maxGradNorm"] = maxNorm,
            ["nonFiniteSteps"] = nonFiniteSteps,
        };
        if (clipper is not null)
        {
            metrics["clippedSteps"] = clipper.Clipped;
            metrics["preClipNormP50"] = clipper.Quantile(0.5);
            metrics["preClipNormP90"] = clipper.Quantile(0.9);
            o.Log?.Invoke($"{r.Label}: {clipper}");
        }
        extra?.Invoke(doctor, metrics);
        var findings = doctor.Findings.Where(f => f.Severity != Severity.Info).ToList();
        return new DemoRun(r.Label, metrics, findings);
    }

    /// <summary>A directory name for a run label: "before: raw pipeline" → "before".</summary>
    public static string RunName(string label)
    {
        var head = label.Split(':')[0].Trim();
        var chars = head.Select(c => char.IsLetterOrDigit(c) || c is '-' or '_' ? c : '-').ToArray();
        return chars.Length == 0 ? "run" : new string(chars);
    }

    /// <summary>Mean cross-entropy and accuracy on up to 1024 samples of <paramref name="data"/>.</summary>
    public static (double Loss, double Accuracy) Evaluate(Module model, DemoData data)
    {
        model.eval();
        using var scope = NewDisposeScope();
        using var _ = no_grad();
        double loss = 0;
        long correct = 0, n = 0;
        foreach (var (x, y) in data.Batches(256, 0))
        {
            var output = model.call(x);
            loss += nn.functional.cross_entropy(output, y, reduction: nn.Reduction.Sum).item<float>();
            correct += output.argmax(1).eq(y).sum().item<long>();
            n += y.shape[0];
            if (n >= 1024) break;
        }
        model.train();
        return n == 0 ? (double.NaN, double.NaN) : (loss / n, (double)correct / n);
    }

    public static double Accuracy(Module model, DemoData data)
    {
        model.eval();
        using var scope = NewDisposeScope();
        using var _ = no_grad();
        long correct = 0;
        foreach (var (x, y) in data.Batches(256, 0))
        {
            var pred = model.call(x).argmax(1);
            correct += pred.eq(y).sum().item<long>();
        }
        model.train();
        var n = data.Count / 256 * 256;
        return n == 0 ? double.NaN : (double)correct / n;
    }
}
