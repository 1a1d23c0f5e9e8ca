using MusicGen.Engine.Audio;
using MusicGen.Engine.Codec;

namespace MusicGen.Engine;

/// <summary>What a generation made.</summary>
/// <param name="Audio">The audio, [items, channels, samples]; <see cref="AudioBatch.Clip"/> gives one item without its prompt padding.</param>
/// <param name="Codes">The codes it was decoded from, [items, channels, codebooks, frames], prompt included.</param>
/// <param name="PromptFrames">Frames of <paramref name="Codes"/> that came from the prompt.</param>
/// <param name="FrameRate">Codec frames per second.</param>
/// <param name="Seed">The sampler's seed: giving it again reproduces the result.</param>
public sealed record MusicResult(AudioBatch Audio, CodesBatch Codes, int PromptFrames, int FrameRate, ulong Seed)
{
    /// <summary>Seconds generated per item, without the prompt.</summary>
    public double GeneratedSeconds => (double)(Codes.Frames - PromptFrames) / FrameRate;
}

/// <summary>What a streamed generation made besides the audio it handed out: the codes.</summary>
/// <param name="Codes">The codes, [items, channels, codebooks, frames], prompt included.</param>
/// <param name="PromptFrames">Frames of <paramref name="Codes"/> that came from the prompt.</param>
/// <param name="FrameRate">Codec frames per second.</param>
/// <param name="Seed">The sampler's seed: giving it again reproduces the result.</param>
public sealed record MusicCodes(CodesBatch Codes, int PromptFrames, int FrameRate, ulong Seed)
{
    /// <summary>Seconds generated per item, without the prompt.</summary>
    public double GeneratedSeconds => (double)(Codes.Frames - PromptFrames) / FrameRate;
}
