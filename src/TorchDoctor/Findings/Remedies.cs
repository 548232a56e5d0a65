namespace TorchDoctor.Findings;

/// <summary>
/// What a finding's fix does, machine-readable, so that a run's findings can be checked for contradictions (one says lower
/// the learning rate, another raise it). A finding's <see cref="Finding.Advice"/> stays the text a person reads; these are
/// its kinds of change.
/// </summary>
public enum Remedy
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
    private static readonly Dictionary<string, Remedy[]> ByCode = new(StringComparer.Ordinal)
    {
        ["TD1001"] = [Remedy.UseModuleCall],
        ["TD1002"] = [Remedy.ConnectToLoss],
        ["TD1007"] = [Remedy.None],
        ["TD1008"] = [Remedy.ConnectToLoss],
        ["TD2001"] = [Remedy.ChangeActivation, Remedy.ChangeInitialization, Remedy.AddNormalization],
        ["TD2002"] = [Remedy.ClipGradients, Remedy.LowerLearningRate, Remedy.AddNormalization, Remedy.ChangeInitialization],
        ["TD2003"] = [Remedy.LowerLearningRate, Remedy.ChangeActivation, Remedy.ChangeInitialization, Remedy.AddNormalization],
        ["TD2004"] = [Remedy.AddNormalization, Remedy.ChangeInitialization, Remedy.ScaleData, Remedy.ChangeActivation],
        ["TD2005"] = [Remedy.GuardNumerics],
        ["TD2006"] = [Remedy.GuardNumerics],
        ["TD2007"] = [Remedy.GuardNumerics],
        ["TD2008"] = [Remedy.FixOptimizerParameters],
        ["TD2009"] = [Remedy.LowerLearningRate],
        ["TD2010"] = [Remedy.RaiseLearningRate],
        ["TD2011"] = [Remedy.ConnectToLoss],
        ["TD2012"] = [Remedy.FixOptimizerParameters],
        ["TD2013"] = [Remedy.GuardNumerics],
        ["TD2101"] = [Remedy.AddRegularization],
        ["TD2103"] = [Remedy.LowerLearningRate],
        ["TD2104"] = [Remedy.RaiseLearningRate],
        ["TD2105"] = [Remedy.LowerLearningRate],
        ["TD2107"] = [Remedy.LowerLearningRate],
        ["TD2108"] = [Remedy.LowerLearningRate],
        ["TD2109"] = [Remedy.RaiseLearningRate],
        ["TD2111"] = [Remedy.FixLossCall],
        ["TD2112"] = [Remedy.FixLossCall],
        ["TD2113"] = [Remedy.FixLossCall],
        ["TD2114"] = [Remedy.FixLoop],
        ["TD2115"] = [Remedy.FixLoop],
        ["TD2116"] = [Remedy.FixLoop],
        ["TD2117"] = [Remedy.FixLoop],
        ["TD2118"] = [Remedy.FixLoop],
    };

    private static readonly (Remedy, Remedy)[] OppositePairs =
    [
        (Remedy.LowerLearningRate, Remedy.RaiseLearningRate),
        (Remedy.AddRegularization, Remedy.ReduceRegularization),
    ];

    /// <summary>
    /// The remedies of a finding: by its code, refined by its evidence where one code has several fixes (a NaN origin in the
    /// input data is cleaned in the data; an overflow origin is the exploding activations' fix). Empty for codes without a
    /// machine-readable remedy yet.
    /// </summary>
    public static IReadOnlyList<Remedy> Of(Finding finding)
    {
        ArgumentNullException.ThrowIfNull(finding);
        if (finding.Code == "TD2005")
        {
            if (finding.Evidence.ContainsKey("non-finite inputs")) return [Remedy.CleanData];
            if (finding.Evidence.TryGetValue("likely operation", out var op) && op.StartsWith("overflow: its input", StringComparison.Ordinal))
                return [Remedy.ClipGradients, Remedy.LowerLearningRate, Remedy.ChangeInitialization];
        }
        return ByCode.TryGetValue(finding.Code, out var r) ? r : [];
    }

    /// <summary>True when applying both remedies would contradict (e.g. lower and raise the learning rate).</summary>
    public static bool AreOpposite(Remedy a, Remedy b) => OppositePairs.Any(p => (p.Item1 == a && p.Item2 == b) || (p.Item1 == b && p.Item2 == a));

    /// <summary>Pairs of findings among <paramref name="findings"/> whose remedies contradict each other (none in a trustworthy run).</summary>
    public static IReadOnlyList<(Finding A, Finding B, Remedy RemedyA, Remedy RemedyB)> Contradictions(IEnumerable<Finding> findings)
    {
        var list = findings.ToList();
        var found = new List<(Finding, Finding, Remedy, Remedy)>();
        for (int i = 0; i < list.Count; i++)
            for (int j = i + 1; j < list.Count; j++)
                foreach (var a in Of(list[i]))
                    foreach (var b in Of(list[j]))
                        if (AreOpposite(a, b)) found.Add((list[i], list[j], a, b));
        return found;
    }
}
