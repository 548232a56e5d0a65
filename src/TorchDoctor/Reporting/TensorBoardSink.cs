using System.Text;
using TorchDoctor.Findings;
using TorchDoctor.Logs;
using TorchDoctor.Observations;
using TorchDoctor.Training;
using TorchSharp;
using TorchSharp.Modules;

namespace TorchDoctor.Reporting;

/// <summary>
/// Writes a run as TensorBoard event files through TorchSharp's <see cref="SummaryWriter"/>: the training loss and learning rate
/// every step; at sampled steps global and per-module gradient norms, dead-unit fractions, process memory and
/// histograms of weights and gradients; scalars the loop logs; findings as text (tag <c>findings</c>). One directory
/// per run; point <c>tensorboard --logdir</c> at its parent.
/// </summary>
public sealed class TensorBoardSink : IRunSink
{
    private readonly SummaryWriter _writer;

    /// <summary>Writes event files into <paramref name="runDirectory"/> (created if needed).</summary>
    public TensorBoardSink(string runDirectory)
    {
        ArgumentException.ThrowIfNullOrWhiteSpace(runDirectory);
        System.IO.Directory.CreateDirectory(runDirectory);
        RunDirectory = System.IO.Path.GetFullPath(runDirectory);
        _writer = torch.utils.tensorboard.SummaryWriter(RunDirectory);
    }

    /// <summary>The run directory.</summary>
    public string RunDirectory { get; }

    private static int Step(long step) => (int)Math.Clamp(step, 0, int.MaxValue);   // SummaryWriter takes int steps

    /// <inheritdoc />
    public void OnStart(RunStart start)
    {
        ArgumentNullException.ThrowIfNull(start);
        _writer.add_text("run", $"TorchDoctor run of {start.Model}, sample interval {start.SampleInterval}, started {start.Started:O}", 0);
    }

    /// <inheritdoc />
    public void OnStep(StepSample step)
    {
        ArgumentNullException.ThrowIfNull(step);
        var o = step.Observations;
        int s = Step(o.Step);
        if (o.Loss is { } loss) _writer.add_scalar(RunTags.Loss, (float)loss, s);
        if (step.LearningRate is { } lr) _writer.add_scalar(RunTags.LearningRate, (float)lr, s);
        if (!o.Sampled) return;
        if (o.GlobalGradNorm is { } g) _writer.add_scalar(RunTags.GlobalGradNorm, (float)g, s);
        foreach (var (module, norm) in RunTags.ModuleGradNorms(o)) _writer.add_scalar(RunTags.GradNormPrefix + module, (float)norm, s);
        foreach (var (module, f) in RunTags.DeadFractions(o)) _writer.add_scalar(RunTags.DeadFractionPrefix + module, (float)f, s);
        if (step.MemoryBytes is { } m) _writer.add_scalar(RunTags.MemoryMb, (float)(m / (1024.0 * 1024.0)), s);
        foreach (var h in step.Histograms)
        {
            if (h.Values.Length == 0 || !h.Values.All(float.IsFinite)) continue;
            using var t = torch.tensor(h.Values);
            _writer.add_histogram(h.Kind + "/" + h.Name, t, s);
        }
    }

    /// <inheritdoc />
    public void OnScalar(string tag, long step, double value) => _writer.add_scalar(tag, (float)value, Step(step));

    /// <inheritdoc />
    public void OnFinding(Finding finding)
    {
        ArgumentNullException.ThrowIfNull(finding);
        var sb = new StringBuilder();
        sb.Append("**").Append(finding.Code).Append(' ').Append(finding.Slug).Append("** (").Append(finding.Severity.ToString().ToLowerInvariant()).Append(')');
        if (finding.Module is not null) sb.Append(" at `").Append(finding.Module).Append('`');
        sb.Append("\n\n").Append(finding.Message);
        foreach (var (k, v) in finding.Evidence) sb.Append("\n- ").Append(k).Append(": ").Append(v);
        sb.Append("\n\nFix: ").Append(finding.Advice);
        _writer.add_text("findings", sb.ToString(), Step(finding.Step ?? 0));
    }

    /// <inheritdoc />
    public void OnPhase(string name, long step) { }

    /// <inheritdoc />
    public void OnMemory(MemoryStepObservation memory)
    {
        ArgumentNullException.ThrowIfNull(memory);
        int s = Step(memory.Step);
        _writer.add_scalar(RunTags.LiveTensors, memory.LiveTensors, s);
        if (memory.Check is { } c) _writer.add_scalar(RunTags.LiveTensorsAfterCollect, c.LiveTensors, s);
    }

    /// <summary>
    /// Writes a grid of samples (as the model receives them, de-normalised for display) as one TensorBoard image under
    /// <c>samples/&lt;title&gt;</c>: a row per class, up to <paramref name="perRow"/> images each, one pixel of padding.
    /// </summary>
    public void AddSampleGrid(SampleGrid grid, string tag = "samples", int step = 0, int perRow = 8)
    {
        ArgumentNullException.ThrowIfNull(grid);
        if (grid.Items.Count == 0) return;
        var rows = grid.Items.GroupBy(i => i.Label).Select(g => g.Take(perRow).ToList()).ToList();
        int cols = rows.Max(r => r.Count), h = grid.Height, w = grid.Width, pad = 1;
        int height = rows.Count * (h + pad) + pad, width = cols * (w + pad) + pad;
        var rgb = new float[3 * height * width];
        Array.Fill(rgb, 1f);   // white padding
        for (int r = 0; r < rows.Count; r++)
            for (int c = 0; c < rows[r].Count; c++)
            {
                var px = rows[r][c].Pixels;
                for (int ch = 0; ch < 3; ch++)
                    for (int y = 0; y < h; y++)
                        for (int x = 0; x < w; x++)
                        {
                            float v = px[(grid.Channels == 3 ? ch : 0) * h * w + y * w + x];
                            rgb[ch * height * width + (pad + r * (h + pad) + y) * width + pad + c * (w + pad) + x] = float.IsFinite(v) ? Math.Clamp(v, 0f, 1f) : 0f;
                        }
            }
        using var scope = torch.NewDisposeScope();
        _writer.add_img(tag, torch.tensor(rgb, [3, height, width]), step, dataformats: "CHW");
    }

    /// <summary>Nothing to close: <see cref="SummaryWriter"/> writes each event through to the file.</summary>
    public void Dispose() { }
}
