using MusicGen.Engine.Backends;
using MusicGen.Loaders.Checkpoints;

namespace MusicGen.Verification;

/// <summary>The part of a golden case that one engine component reproduces.</summary>
public interface IComponentCheck
{
    string Component { get; }

    /// <summary>Whether a reference tensor of the case belongs to this component.</summary>
    bool Owns(GoldenCase golden, string tensorName);

    /// <summary>
    /// How the component's results compare with the reference when the model's linear layers use
    /// <paramref name="weights"/> and the decoder's key/value cache <paramref name="cache"/> on <paramref name="backend"/>:
    /// exactly (null) with float32 both, else by their row of <see cref="LowPrecisionTolerance"/> (with the backend's
    /// kind of products).
    /// </summary>
    LowPrecisionTolerance? ToleranceWith(WeightType weights, WeightType cache, IBackend backend) =>
        weights == WeightType.F32 && cache == WeightType.F32 ? null : LowPrecisionTolerance.For(weights, cache, backend);

    /// <summary>Runs the component on the case's inputs and records what it produces under reference names.</summary>
    void Run(CaseContext context, ProducedTensors produced);
}
