namespace TorchDoctor.Findings;

/// <summary>The finding catalogue, range TD6xxx: learning curves read from logs (<c>torchdoctor analyze</c>).</summary>
public static class LogCodes
{
    /// <summary>Validation loss turned up while training loss kept falling.</summary>
    public static readonly FindingCode OverfittingOnset = new("TD6001", "overfitting-onset", Severity.Warning,
        "Validation loss reached its minimum and then rose by 10% or more while the training loss kept falling: the model started to memorise the training set at that step.");
    /// <summary>Training loss became non-finite or blew up.</summary>
    public static readonly FindingCode LossDiverged = new("TD6002", "loss-diverged", Severity.Error,
        "The training loss became NaN/Inf, or ended at 3× or more its lowest level and above where it started.");
    /// <summary>Training loss barely moved.</summary>
    public static readonly FindingCode LossPlateau = new("TD6003", "loss-plateau", Severity.Warning,
        "Over the whole run the training loss fell by less than 2% of its starting level: the model is not learning.");
    /// <summary>Training loss oscillates around a level without settling.</summary>
    public static readonly FindingCode LossOscillation = new("TD6004", "loss-oscillation", Severity.Warning,
        "In the last third of the run, the smoothed training loss changes direction at most points with swings above 20% of its level.");
    /// <summary>A log file was damaged; the readable part was used.</summary>
    public static readonly FindingCode LogDamaged = new("TD6005", "log-damaged", Severity.Info,
        "A log file had bad checksums or unreadable records; the readable records were analysed.");
}
