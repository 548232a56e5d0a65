namespace TorchDoctor.Findings;

/// <summary>
/// The finding catalogue, range TD7xxx: reading training logs (<c>torchdoctor analyze</c>). The curve findings themselves
/// are the convergence codes (TD21xx), from the same detectors the doctor runs during training.
/// </summary>
public static class LogCodes
{
    /// <summary>A log file was damaged; the readable part was used.</summary>
    public static readonly FindingCode LogDamaged = new("TD7001", "log-damaged", Severity.Info,
        "A log file had bad checksums or unreadable records; the readable records were analysed.");
}
