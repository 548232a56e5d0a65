// Micro-benchmark of ways to compute the probes' statistics for one step of the demo CNN (batch 64):
// the 10 module outputs, the 8 parameter gradients and weights, and ‖Δw‖. Variants run interleaved
// (V0, V1, V2, V0, V1, V2, ...) in one process; the figure is µs per step, median of rounds.
//
// dotnet run -c Release --project bench/TorchDoctor.Bench -- --micro [--rounds N]
using System.Diagnostics;
using TorchDoctor.Probes;
using static TorchSharp.torch;

internal static class ProbeMicro
{
    private const string Script = @"
def act_stats(x: Tensor, relu: bool) -> Tensor:
    f = x.reshape(-1)
    mn, mx = torch.aminmax(f)
    s = [f.sum(), torch.dot(f, f), mn, mx]
    if relu:
        s.append(f.sign().abs().sum())
        s.append(x.reshape(x.shape[0], -1).amax(0).le(0).sum().float())
    return torch.stack(s)

def param_stats(gs: List[Tensor], ws: List[Tensor]) -> Tensor:
    out: List[Tensor] = []
    for i in range(len(gs)):
        g = gs[i].reshape(-1)
        w = ws[i].reshape(-1)
        out.append(torch.stack([torch.dot(g, g), g.abs().sum(), g.sign().abs().sum(), torch.dot(w, w)]))
    return torch.stack(out)

def update_stats(ws: List[Tensor], olds: List[Tensor]) -> Tensor:
    out: List[Tensor] = []
    for i in range(len(ws)):
        d = (ws[i] - olds[i]).reshape(-1)
        out.append(torch.dot(d, d))
    return torch.stack(out)

def copy_into(ws: List[Tensor], bufs: List[Tensor]) -> Tensor:
    for i in range(len(ws)):
        bufs[i].copy_(ws[i])
    return bufs[0]
";

    public static void Run(int rounds)
    {
        using var _ = no_grad();
        manual_seed(1);
        long[][] actShapes = [[64, 16, 26, 26], [64, 16, 26, 26], [64, 16, 13, 13], [64, 32, 11, 11], [64, 32, 11, 11], [64, 32, 5, 5], [64, 800], [64, 128], [64, 128], [64, 10]];
        bool[] relu = [false, true, false, false, true, false, false, false, true, false];
        var acts = actShapes.Select((s, i) => relu[i] ? randn(s).relu() : randn(s)).ToArray();
        long[][] pShapes = [[16, 1, 3, 3], [16], [32, 16, 3, 3], [32], [128, 800], [128], [10, 128], [10]];
        var ws = pShapes.Select(s => randn(s)).ToArray();
        var gs = pShapes.Select(s => randn(s) * 1e-3).ToArray();
        var bufs = ws.Select(w => w.clone()).ToArray();
        using var cu = jit.compile(Script);

        var variants = new (string Name, Action Step)[]
        {
            ("activations: TensorStats per module (current)", () =>
            {
                for (int i = 0; i < acts.Length; i++)
                {
                    TensorStats.Summary(acts[i], countZeros: relu[i]);
                    if (relu[i]) TensorStats.DeadUnitFraction(acts[i]);
                }
            }),
            ("activations: stack per module, one read per step", () =>
            {
                using var scope = NewDisposeScope();
                var parts = new List<Tensor>();
                for (int i = 0; i < acts.Length; i++)
                {
                    var f = acts[i].reshape(-1);
                    var (mn, mx) = aminmax(f);
                    parts.Add(relu[i]
                        ? stack([f.sum(), f.dot(f), mn, mx, f.sign().abs_().sum(), acts[i].reshape(acts[i].shape[0], -1).amax(0).le(0).sum().to(ScalarType.Float32)])
                        : stack([f.sum(), f.dot(f), mn, mx]));
                }
                cat(parts).data<float>().ToArray();
            }),
            ("activations: TorchScript per module, one read per step", () =>
            {
                using var scope = NewDisposeScope();
                var parts = new List<Tensor>();
                for (int i = 0; i < acts.Length; i++) parts.Add(cu.invoke<Tensor>("act_stats", acts[i], relu[i]));
                cat(parts).data<float>().ToArray();
            }),
            ("parameters: TensorStats per parameter (current)", () =>
            {
                for (int i = 0; i < gs.Length; i++) { TensorStats.Gradient(gs[i]); TensorStats.Norm(ws[i]); }
            }),
            ("parameters: stack per parameter, one read", () =>
            {
                using var scope = NewDisposeScope();
                var parts = new List<Tensor>();
                for (int i = 0; i < gs.Length; i++)
                {
                    var g = gs[i].reshape(-1);
                    var w = ws[i].reshape(-1);
                    parts.Add(stack([g.dot(g), g.abs().sum(), g.sign().abs_().sum(), w.dot(w)]));
                }
                cat(parts).data<float>().ToArray();
            }),
            ("parameters: TorchScript over the list, one read", () =>
            {
                using var scope = NewDisposeScope();
                cu.invoke<Tensor>("param_stats", gs, ws).data<float>().ToArray();
            }),
            ("updates: clone + DistanceNorm + Norm (current)", () =>
            {
                var snap = ws.Select(w => w.detach().clone()).ToList();
                for (int i = 0; i < ws.Length; i++) { TensorStats.DistanceNorm(ws[i], snap[i]); TensorStats.Norm(snap[i]); }
                foreach (var t in snap) t.Dispose();
            }),
            ("updates: copy_ into reused buffers, stacked, one read", () =>
            {
                using var scope = NewDisposeScope();
                for (int i = 0; i < ws.Length; i++) bufs[i].copy_(ws[i]);
                var parts = new Tensor[ws.Length];
                for (int i = 0; i < ws.Length; i++) { var d = (ws[i] - bufs[i]).reshape(-1); parts[i] = d.dot(d); }
                stack(parts).data<float>().ToArray();
            }),
            ("updates: TorchScript copy + list, one read", () =>
            {
                using var scope = NewDisposeScope();
                cu.invoke<Tensor>("copy_into", ws, bufs);
                cu.invoke<Tensor>("update_stats", ws, bufs).data<float>().ToArray();
            }),
        };
        var times = variants.Select(_ => new List<double>()).ToArray();
        foreach (var v in variants) for (int k = 0; k < 5; k++) v.Step();   // warm-up (TorchScript profiles its first runs)
        var sw = new Stopwatch();
        for (int r = 0; r < rounds; r++)
            for (int v = 0; v < variants.Length; v++)
            {
                sw.Restart();
                for (int k = 0; k < 10; k++) variants[v].Step();
                times[v].Add(sw.Elapsed.TotalMicroseconds / 10);
            }
        Console.WriteLine($"| variant | µs per step (median of {rounds} rounds of 10) | min |");
        Console.WriteLine("|---|---|---|");
        for (int v = 0; v < variants.Length; v++)
        {
            var t = times[v].Order().ToList();
            Console.WriteLine($"| {variants[v].Name} | {t[t.Count / 2]:F0} | {t[0]:F0} |");
        }
    }
}
