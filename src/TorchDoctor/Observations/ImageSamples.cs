namespace TorchDoctor.Observations;

/// <summary>
/// Images of a data set as the model receives them (after the data set's own transforms), a few per class, in CHW
/// order with the values the model sees (not rescaled).
/// </summary>
/// <param name="Field">The image field.</param>
/// <param name="Channels">Channels (1 or 3).</param>
/// <param name="Height">Height.</param>
/// <param name="Width">Width.</param>
/// <param name="Items">Class label and pixels (channels × height × width), by class then index.</param>
public sealed record ImageSamples(string Field, int Channels, int Height, int Width, IReadOnlyList<(long Label, float[] Pixels)> Items);
