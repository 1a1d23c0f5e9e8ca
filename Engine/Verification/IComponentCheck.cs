namespace MusicGen.Engine.Verification;

/// <summary>The part of a golden case that one engine component reproduces.</summary>
public interface IComponentCheck
{
    string Component { get; }

    /// <summary>Whether a reference tensor of the case belongs to this component.</summary>
    bool Owns(GoldenCase golden, string tensorName);

    /// <summary>
    /// Whether the component's results depend on the weight type of linear layers (then, with low-precision
    /// weights, they are compared with <see cref="LowPrecisionTolerance"/>'s rules).
    /// </summary>
    bool UsesLinearWeights => true;

    /// <summary>Runs the component on the case's inputs and records what it produces under reference names.</summary>
    void Run(CaseContext context, ProducedTensors produced);
}
