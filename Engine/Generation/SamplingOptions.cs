using MusicGen.Loaders;
using MusicGen.Loaders.Configs;

namespace MusicGen.Engine.Generation;

/// <summary>
/// How the next codes are chosen: greedy, or sampled after temperature, top-k and top-p (transformers'
/// TemperatureLogitsWarper, TopKLogitsWarper, TopPLogitsWarper, in that order), with classifier-free guidance
/// applied first when GuidanceScale > 1.
/// </summary>
public sealed record SamplingOptions(bool Greedy, double GuidanceScale, int TopK, double TopP, double Temperature, ulong Seed)
{
    /// <summary>The checkpoint's generation_config.json, with transformers' defaults where it is silent.</summary>
    public static SamplingOptions FromGenerationConfig(GenerationConfig config, ulong seed) => new(
        Greedy: config.DoSample == false,
        GuidanceScale: config.GuidanceScale ?? 1.0,
        TopK: config.TopK ?? 50,
        TopP: config.TopP ?? 1.0,
        Temperature: config.Temperature ?? 1.0,
        Seed: seed);

    /// <summary>Refuses settings out of range, naming the request's field (<see cref="MusicRequest"/>) of each.</summary>
    /// <exception cref="InvalidRequestException">A setting is out of range.</exception>
    public void Validate()
    {
        if (GuidanceScale < 0 || double.IsNaN(GuidanceScale))
            throw new InvalidRequestException(nameof(MusicRequest.Guidance), $"{{Guidance}} {GuidanceScale} must be ≥ 0");
        if (TopK < 0) throw new InvalidRequestException(nameof(MusicRequest.TopK), $"{{TopK}} {TopK} must be ≥ 0 (0 turns it off)");
        if (!(TopP > 0 && TopP <= 1)) throw new InvalidRequestException(nameof(MusicRequest.TopP), $"{{TopP}} {TopP} must be in (0, 1]");
        if (!(Temperature > 0) || double.IsInfinity(Temperature))
            throw new InvalidRequestException(nameof(MusicRequest.Temperature), $"{{Temperature}} {Temperature} must be > 0");
    }

    public bool UsesGuidance => GuidanceScale > 1;
}
