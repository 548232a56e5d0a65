namespace TorchDoctor.Data;

/// <summary>A data set that is not on this machine; the message says which package or path provides it.</summary>
public sealed class DataUnavailableException(string message) : Exception(message);
