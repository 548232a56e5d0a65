using static TorchSharp.torch;

namespace TorchDoctor.Corpus;

/// <summary>
/// Generated data sets for corpus programs (the stand-in for a user's CSV or image folder), deterministic for a seed,
/// small enough that a program trains in about a second. Tensors are detached from any dispose scope: the program
/// owns them (wrap the run in <c>using var d = ...</c> or dispose them).
/// </summary>
public static class CorpusData
{
    /// <summary>A labelled table: features [N, F] float32 and labels [N] int64 (or float targets).</summary>
    public sealed class Table(Tensor x, Tensor y) : IDisposable
    {
        /// <summary>Inputs.</summary>
        public Tensor X { get; } = x.DetachFromDisposeScope();
        /// <summary>Labels or targets.</summary>
        public Tensor Y { get; } = y.DetachFromDisposeScope();
        /// <summary>Samples.</summary>
        public long Count => X.shape[0];

        /// <summary>
        /// Shuffled mini-batches, epoch after epoch, for <paramref name="steps"/> steps (what a DataLoader with
        /// shuffle=true gives). Like a loader that owns its batches, each batch is disposed when the next one is taken
        /// (and at the end): keep nothing from a batch beyond its step.
        /// </summary>
        public IEnumerable<(Tensor X, Tensor Y)> Batches(int batchSize, int steps, long seed)
        {
            using var gen = new Generator((ulong)seed + 1);
            int step = 0;
            Tensor? x = null, y = null;
            try
            {
                while (true)
                {
                    using var order = randperm(Count, generator: gen);
                    for (long i = 0; i + batchSize <= Count; i += batchSize)
                    {
                        x?.Dispose();
                        y?.Dispose();
                        x = y = null;
                        if (step++ == steps) yield break;
                        using (var idx = order.narrow(0, i, batchSize))
                        {
                            x = X.index_select(0, idx).DetachFromDisposeScope();
                            y = Y.index_select(0, idx).DetachFromDisposeScope();
                        }
                        yield return (x, y);
                    }
                }
            }
            finally
            {
                x?.Dispose();
                y?.Dispose();
            }
        }

        /// <summary>
        /// Samples <paramref name="start"/> to <paramref name="start"/> + <paramref name="count"/> as a table of their own (copies):
        /// a training/validation split of one data set, so both halves come from the same distribution.
        /// </summary>
        public Table Slice(long start, long count)
        {
            using var scope = NewDisposeScope();
            return new Table(X.narrow(0, start, count).clone().DetachFromDisposeScope(), Y.narrow(0, start, count).clone().DetachFromDisposeScope());
        }

        /// <summary>Frees the tensors.</summary>
        public void Dispose()
        {
            X.Dispose();
            Y.Dispose();
        }
    }

    /// <summary>Gaussian class blobs: <paramref name="classes"/> centres in <paramref name="features"/> dimensions, unit noise.</summary>
    public static Table Blobs(int n, int features, int classes, long seed, double spread = 2.0)
    {
        using var scope = NewDisposeScope();
        using var gen = new Generator((ulong)seed * 31 + 7);
        var centres = randn([classes, features], generator: gen) * spread;
        var y = randint(classes, [n], generator: gen, dtype: ScalarType.Int64);
        var x = centres.index_select(0, y) + randn([n, features], generator: gen);
        return new Table(x.DetachFromDisposeScope(), y.DetachFromDisposeScope());
    }

    /// <summary>Binary labels (float 0/1, shape [N, 1]) from a noisy linear rule.</summary>
    public static Table Binary(int n, int features, long seed)
    {
        using var scope = NewDisposeScope();
        using var gen = new Generator((ulong)seed * 31 + 11);
        var w = randn([features, 1], generator: gen);
        var x = randn([n, features], generator: gen);
        var y = (mm(x, w) + 0.3 * randn([n, 1], generator: gen)).gt(0).to_type(ScalarType.Float32);
        return new Table(x.DetachFromDisposeScope(), y.DetachFromDisposeScope());
    }

    /// <summary>Regression targets [N, 1] = a smooth nonlinear function of the features plus noise.</summary>
    public static Table Regression(int n, int features, long seed, double scale = 1.0, double offset = 0.0)
    {
        using var scope = NewDisposeScope();
        using var gen = new Generator((ulong)seed * 31 + 13);
        var w = randn([features, 1], generator: gen) / Math.Sqrt(features);
        var x = randn([n, features], generator: gen);
        var y = (mm(x, w).sin() + 0.5 * mm(x, w) + 0.1 * randn([n, 1], generator: gen)) * scale + offset;
        return new Table(x.DetachFromDisposeScope(), y.DetachFromDisposeScope());
    }

    /// <summary>Images [N, C, S, S] in [0, 1] made from smooth class prototypes plus noise, labels [N] int64.</summary>
    public static Table Images(int n, int channels, int size, int classes, long seed)
    {
        using var scope = NewDisposeScope();
        using var gen = new Generator((ulong)seed * 31 + 17);
        var protos = rand([classes, channels, size, size], generator: gen);
        protos = nn.functional.avg_pool2d(protos, 3, stride: 1, padding: 1);
        var y = randint(classes, [n], generator: gen, dtype: ScalarType.Int64);
        var x = (protos.index_select(0, y) + 0.25 * randn([n, channels, size, size], generator: gen)).clamp(0, 1);
        return new Table(x.DetachFromDisposeScope(), y.DetachFromDisposeScope());
    }

    /// <summary>Token sequences [N, L] int64 in [0, vocab); the label is which of <paramref name="classes"/> marker tokens occurs most.</summary>
    public static Table Tokens(int n, int length, int vocab, int classes, long seed)
    {
        using var scope = NewDisposeScope();
        using var gen = new Generator((ulong)seed * 31 + 19);
        var y = randint(classes, [n], generator: gen, dtype: ScalarType.Int64);
        var x = randint(classes, vocab, [n, length], generator: gen, dtype: ScalarType.Int64);
        // Plant the label's marker token (ids 0..classes-1) in about a third of the positions.
        var plant = rand([n, length], generator: gen).lt(0.35);
        x = where(plant, y.unsqueeze(1).expand(n, length), x);
        return new Table(x.DetachFromDisposeScope(), y.DetachFromDisposeScope());
    }
}
