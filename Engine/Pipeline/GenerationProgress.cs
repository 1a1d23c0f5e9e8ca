namespace MusicGen.Engine;

/// <summary>Where a generation stands after a decoding step.</summary>
/// <param name="Step">Decoding steps done.</param>
/// <param name="Total">Decoding steps in all; 0 for a piece without end.</param>
/// <param name="StepsPerSecond">Steps done per second of decoding so far.</param>
public readonly record struct GenerationProgress(int Step, int Total, double StepsPerSecond)
{
    /// <summary>Estimated time until the last step, at the speed so far.</summary>
    public TimeSpan Remaining => StepsPerSecond > 0 && Total > Step ? TimeSpan.FromSeconds((Total - Step) / StepsPerSecond) : TimeSpan.Zero;
}
