using TorchDoctor.Findings;

namespace TorchDoctor.Corpus;

/// <summary>
/// Opposite advice within one run, from the catalogue's machine-readable remedies (<see cref="Finding.Remedy"/>,
/// <see cref="Remedy.Contradicts"/>): a trustworthy run never tells the user to lower and to raise the learning rate.
/// </summary>
public static class Contradictions
{
    /// <summary>Pairs of findings among <paramref name="findings"/> whose remedies contradict each other (none in a trustworthy run).</summary>
    public static IReadOnlyList<(Finding A, Finding B, RemedyKind RemedyA, RemedyKind RemedyB)> In(IEnumerable<Finding> findings)
    {
        ArgumentNullException.ThrowIfNull(findings);
        var list = findings.ToList();
        var found = new List<(Finding, Finding, RemedyKind, RemedyKind)>();
        for (int i = 0; i < list.Count; i++)
            for (int j = i + 1; j < list.Count; j++)
                if (list[i].Remedy.Contradicts(list[j].Remedy)) found.Add((list[i], list[j], list[i].Remedy, list[j].Remedy));
        return found;
    }
}
