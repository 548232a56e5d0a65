using TorchDoctor.Findings;

namespace TorchDoctor.Logs;

/// <summary>What a TorchDoctor run log holds beyond scalars: the run header, the findings and the phases.</summary>
public sealed class RunLogContent
{
    /// <summary>Header fields of the <c>run</c> record (model, sample interval, start time...).</summary>
    public Dictionary<string, string> Header { get; } = new(StringComparer.Ordinal);
    /// <summary>The findings, in the order written.</summary>
    public List<Finding> Findings { get; } = [];
    /// <summary>Phases (<c>train</c>, <c>validate</c>, <c>end</c>...) with the step they started at.</summary>
    public List<(string Name, long Step)> Phases { get; } = [];
    /// <summary>True when the log has its <c>end</c> record (the run finished; false for a run killed or still running).</summary>
    public bool Completed { get; set; }
    /// <summary>The last step recorded.</summary>
    public long LastStep { get; set; } = -1;
}
