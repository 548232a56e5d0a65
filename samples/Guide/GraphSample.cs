using System.Diagnostics;
using static TorchSharp.torch;

namespace TorchDoctor.Guide;

/// <summary>Chapter 7: graph optimisation on CPU: let one fused kernel do the work.</summary>
internal static class GraphSample
{
    public static bool Run(TextWriter o)
    {
        using var scope = NewDisposeScope();
        var x = rand(256, 128);
        var w = rand(128, 64);

        var clock = Stopwatch.StartNew();
        var viaMm = mm(x, w);                                          // one BLAS call (Linear uses the same)
        var tMm = clock.Elapsed.TotalMilliseconds;

        clock.Restart();
        var viaBroadcast = (x.unsqueeze(2) * w.unsqueeze(0)).sum(1L, false);   // builds a [256, 128, 64] temporary first
        var tBroadcast = clock.Elapsed.TotalMilliseconds;

        clock.Restart();
        var rows = new List<Tensor>();
        for (int i = 0; i < 256; i++) rows.Add((x.select(0, i).unsqueeze(1) * w).sum(0L, false));   // one small op per row
        var viaLoop = stack(rows);
        var tLoop = clock.Elapsed.TotalMilliseconds;

        o.WriteLine($"torch.mm {tMm:0.00} ms · broadcast-and-sum {tBroadcast:0.00} ms · per-row loop {tLoop:0.00} ms (timings vary; the numbers agree)");
        o.WriteLine("Prefer torch.mm / Linear over Tensor.matmul while debugging: in TorchSharp a mismatched matmul aborts the process " +
                    "(TorchDoctor's analyzer TD5007 flags it at compile time).");
        return viaMm.allclose(viaBroadcast, rtol: 1e-4, atol: 1e-4) && viaMm.allclose(viaLoop, rtol: 1e-4, atol: 1e-4);
    }
}
