namespace MusicGen.Verification;

/// <summary>
/// The part of a golden case that an engine component reproduces from the case's signals and settings alone,
/// without a checkpoint or a backend (resampling, chroma features).
/// </summary>
public interface ISignalCheck
{
    string Component { get; }

    /// <summary>Whether a reference tensor of the case belongs to this component.</summary>
    bool Owns(GoldenCase golden, string tensorName);

    /// <summary>Runs the component on the case's inputs and records what it produces under reference names.</summary>
    void Run(GoldenCase golden, ProducedTensors produced);
}
