using MusicGen.Engine.Codec;

namespace MusicGen.Engine.Generation;

/// <summary>
/// What to generate: one item per prompt (or UnconditionalBatch items without text when there are no prompts),
/// MaxNewTokens decoder steps each, chosen as Sampling says; optionally continuing an audio prompt (or the codes
/// of one, [B, channels, codebooks, frames], such as the end of a previous window) and, for a melody model,
/// following the chroma of a tune.
/// </summary>
public sealed record GenerationRequest(
    IReadOnlyList<string> Prompts,
    int MaxNewTokens,
    SamplingOptions Sampling,
    int UnconditionalBatch = 1,
    AudioPrompt? AudioPrompt = null,
    MelodyChroma? Melody = null,
    CodesBatch? PromptCodes = null)
{
    public bool Unconditional => Prompts.Count == 0;
    public int Batch => Unconditional ? UnconditionalBatch : Prompts.Count;
}

/// <summary>
/// Audio to continue, as MusicgenProcessor prepares it: Samples [B, channels, Length], left-padded with zeros
/// to the longest item, and PaddingMask [B, Length] (1 on real samples).
/// </summary>
public sealed record AudioPrompt(int Batch, int Channels, int Length, float[] Samples, float[] PaddingMask)
{
    /// <summary>The processor's left padding of one clip per item (planar channels), all at the codec's rate.</summary>
    public static AudioPrompt FromClips(IReadOnlyList<float[][]> clips)
    {
        int channels = clips[0].Length, length = clips.Max(c => c[0].Length);
        var samples = new float[clips.Count * channels * length];
        var mask = new float[clips.Count * length];
        for (int b = 0; b < clips.Count; b++)
        {
            int offset = length - clips[b][0].Length;
            for (int c = 0; c < channels; c++) clips[b][c].CopyTo(samples, (b * channels + c) * length + offset);
            Array.Fill(mask, 1f, b * length + offset, length - offset);
        }
        return new AudioPrompt(clips.Count, channels, length, samples, mask);
    }

    /// <summary>Samples of item b that are padding (at its start).</summary>
    public int PaddingOf(int b)
    {
        int padding = 0;
        while (padding < Length && PaddingMask[b * Length + padding] == 0f) padding++;
        return padding;
    }
}

/// <summary>One-hot chroma [B, Frames, Bins] of the tunes a melody model follows.</summary>
public sealed record MelodyChroma(int Batch, int Frames, int Bins, int[] OneHot);

/// <summary>
/// Generated codes [B, channels, codebooks, frames], the first PromptFrames of them those of the prompt, and the
/// whole delayed sequence [B · K, SequenceLength] they came from (K decoder codebooks, see <see cref="CodebookLayout"/>).
/// </summary>
public sealed record GenerationResult(CodesBatch Codes, int PromptFrames, int SequenceLength, int[] DelayedIds);
