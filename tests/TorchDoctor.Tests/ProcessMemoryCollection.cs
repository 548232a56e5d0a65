using Xunit;

namespace TorchDoctor.Tests;

/// <summary>
/// Tests that measure process-wide memory (native bytes in use after a collection via mallinfo2, live TorchSharp tensor
/// counts, resident memory) run alone: another test class allocating or freeing at the same moment in the same process moves
/// those numbers. (A full run once measured 0 bytes for a grad-on evaluation that holds ~145 KB, because another test freed
/// memory between the two readings.)
/// </summary>
[CollectionDefinition(Name, DisableParallelization = true)]
public sealed class ProcessMemoryCollection
{
    /// <summary>The collection's name.</summary>
    public const string Name = "process-wide memory";
}
