using TorchDoctor.Findings;

namespace TorchDoctor.Corpus;

// A minimal machine-readable remedy per catalogue code, kept in the corpus project (not the library) until issue 8's
// RemedyKind on every catalogue entry and finding lands on main; then Remedies.Of becomes finding.Remedy and this file goes.

/// <summary>
/// What a finding's fix does, machine-readable, so that a run's findings can be checked for contradictions (one says lower
/// the learning rate, another raise it). A finding's <see cref="Finding.Advice"/> stays the text a person reads; these are
/// its kinds of change.
/// </summary>
public enum CorpusRemedy
{
    /// <summary>Lower the learning rate.</summary>
    LowerLearningRate,
    /// <summary>Raise the learning rate (or stop a schedule from decaying it to nothing).</summary>
    RaiseLearningRate,
    /// <summary>Clip the gradient norm.</summary>
    ClipGradients,
    /// <summary>Add normalisation layers (BatchNorm, LayerNorm).</summary>
    AddNormalization,
    /// <summary>Change the activation function (ReLU family instead of sigmoid/tanh, LeakyReLU instead of ReLU).</summary>
    ChangeActivation,
    /// <summary>Change the weight initialisation (scale, zero biases).</summary>
    ChangeInitialization,
    /// <summary>Scale or standardise the inputs or targets.</summary>
    ScaleData,
    /// <summary>Remove NaN/Inf or impossible values from the data.</summary>
    CleanData,
    /// <summary>Guard an operation's domain (epsilon, clamp, stable forms such as log_softmax).</summary>
    GuardNumerics,
    /// <summary>Give the optimizer every trainable parameter (and a non-zero learning rate).</summary>
    FixOptimizerParameters,
    /// <summary>Connect the parameter to the loss (no detach/no_grad, call the module).</summary>
    ConnectToLoss,
    /// <summary>Call child modules through <c>call</c>, not <c>forward</c>.</summary>
    UseModuleCall,
    /// <summary>Add regularisation (weight decay, dropout, early stopping, more data).</summary>
    AddRegularization,
    /// <summary>Remove regularisation or add capacity (the model underfits).</summary>
    ReduceRegularization,
    /// <summary>Change how the loss is called (logits vs probabilities, target shape or dtype).</summary>
    FixLossCall,
    /// <summary>Fix the training loop (zero_grad, train/eval mode, no_grad in evaluation, view vs permute).</summary>
    FixLoop,
    /// <summary>Nothing to change: information only.</summary>
    None,
}

/// <summary>The remedies of the catalogue's codes, and which remedies contradict each other.</summary>
public static class Remedies
{
    private static readonly Dictionary<string, CorpusRemedy[]> ByCode = new(StringComparer.Ordinal)
    {
        ["TD1001"] = [CorpusRemedy.UseModuleCall],
        ["TD1002"] = [CorpusRemedy.ConnectToLoss],
        ["TD1007"] = [CorpusRemedy.None],
        ["TD1008"] = [CorpusRemedy.ConnectToLoss],
        ["TD2001"] = [CorpusRemedy.ChangeActivation, CorpusRemedy.ChangeInitialization, CorpusRemedy.AddNormalization],
        ["TD2002"] = [CorpusRemedy.ClipGradients, CorpusRemedy.LowerLearningRate, CorpusRemedy.AddNormalization, CorpusRemedy.ChangeInitialization],
        ["TD2003"] = [CorpusRemedy.LowerLearningRate, CorpusRemedy.ChangeActivation, CorpusRemedy.ChangeInitialization, CorpusRemedy.AddNormalization],
        ["TD2004"] = [CorpusRemedy.AddNormalization, CorpusRemedy.ChangeInitialization, CorpusRemedy.ScaleData, CorpusRemedy.ChangeActivation],
        ["TD2005"] = [CorpusRemedy.GuardNumerics],
        ["TD2006"] = [CorpusRemedy.GuardNumerics],
        ["TD2007"] = [CorpusRemedy.GuardNumerics],
        ["TD2008"] = [CorpusRemedy.FixOptimizerParameters],
        ["TD2009"] = [CorpusRemedy.LowerLearningRate],
        ["TD2010"] = [CorpusRemedy.RaiseLearningRate],
        ["TD2011"] = [CorpusRemedy.ConnectToLoss],
        ["TD2012"] = [CorpusRemedy.FixOptimizerParameters],
        ["TD2013"] = [CorpusRemedy.GuardNumerics],
        ["TD2101"] = [CorpusRemedy.AddRegularization],
        ["TD2103"] = [CorpusRemedy.LowerLearningRate],
        ["TD2104"] = [CorpusRemedy.RaiseLearningRate],
        ["TD2105"] = [CorpusRemedy.LowerLearningRate],
        ["TD2107"] = [CorpusRemedy.LowerLearningRate],
        ["TD2108"] = [CorpusRemedy.LowerLearningRate],
        ["TD2109"] = [CorpusRemedy.RaiseLearningRate],
        ["TD2111"] = [CorpusRemedy.FixLossCall],
        ["TD2112"] = [CorpusRemedy.FixLossCall],
        ["TD2113"] = [CorpusRemedy.FixLossCall],
        ["TD2114"] = [CorpusRemedy.FixLoop],
        ["TD2115"] = [CorpusRemedy.FixLoop],
        ["TD2116"] = [CorpusRemedy.FixLoop],
        ["TD2117"] = [CorpusRemedy.FixLoop],
        ["TD2118"] = [CorpusRemedy.FixLoop],
    };

    private static readonly (CorpusRemedy, CorpusRemedy)[] OppositePairs =
    [
        (CorpusRemedy.LowerLearningRate, CorpusRemedy.RaiseLearningRate),
        (CorpusRemedy.AddRegularization, CorpusRemedy.ReduceRegularization),
    ];

    /// <summary>
    /// The remedies of a finding: by its code, refined by its evidence where one code has several fixes (a NaN origin in the
    /// input data is cleaned in the data; an overflow origin is the exploding activations' fix). Empty for codes without a
    /// machine-readable remedy yet.
    /// </summary>
    public static IReadOnlyList<CorpusRemedy> Of(Finding finding)
    {
        ArgumentNullException.ThrowIfNull(finding);
        if (finding.Code == "TD2005")
        {
            if (finding.Evidence.ContainsKey("non-finite inputs")) return [CorpusRemedy.CleanData];
            if (finding.Evidence.TryGetValue("likely operation", out var op) && ((string)op).StartsWith("overflow: its input", StringComparison.Ordinal))
                return [CorpusRemedy.ClipGradients, CorpusRemedy.LowerLearningRate, CorpusRemedy.ChangeInitialization];
        }
        return ByCode.TryGetValue(finding.Code, out var r) ? r : [];
    }

    /// <summary>True when applying both remedies would contradict (e.g. lower and raise the learning rate).</summary>
    public static bool AreOpposite(CorpusRemedy a, CorpusRemedy b) => OppositePairs.Any(p => (p.Item1 == a && p.Item2 == b) || (p.Item1 == b && p.Item2 == a));

    /// <summary>Pairs of findings among <paramref name="findings"/> whose remedies contradict each other (none in a trustworthy run).</summary>
    public static IReadOnlyList<(Finding A, Finding B, CorpusRemedy RemedyA, CorpusRemedy RemedyB)> Contradictions(IEnumerable<Finding> findings)
    {
        var list = findings.ToList();
        var found = new List<(Finding, Finding, CorpusRemedy, CorpusRemedy)>();
        for (int i = 0; i < list.Count; i++)
            for (int j = i + 1; j < list.Count; j++)
                foreach (var a in Of(list[i]))
                    foreach (var b in Of(list[j]))
                        if (AreOpposite(a, b)) found.Add((list[i], list[j], a, b));
        return found;
    }
}
