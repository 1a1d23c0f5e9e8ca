using MusicGen.Engine.Audio;
using MusicGen.Engine.Codec;

namespace MusicGen.Engine;

/// <summary>
/// What to generate. Every setting left null takes the checkpoint's <c>generation_config.json</c> value. Audio
/// prompts and melodies are given as one clip for every item or one per item, at any sample rate and channel
/// count (they are resampled and mixed as the reference's processor does).
/// </summary>
public sealed record MusicRequest
{
    /// <summary>Text descriptions, one item each. None: unconditional generation of <see cref="Samples"/> items.</summary>
    public IReadOnlyList<string> Prompts { get; init; } = [];

    /// <summary>Items to generate without text (default 1, or one per audio prompt or melody); only without prompts.</summary>
    public int? Samples { get; init; }

    /// <summary>
    /// Seconds of audio per item, an audio prompt included (default: the checkpoint's length). Up to an hour: beyond
    /// <see cref="Window"/> the piece is generated window by window, as audiocraft extends it.
    /// </summary>
    public double? Duration { get; init; }

    /// <summary>Seconds of each window of a long piece (default: the model's 30 s; smaller ones are for tests and experiments).</summary>
    public double? Window { get; init; }

    /// <summary>Seconds by which each window of a long piece starts after the previous one (default 18, audiocraft's extend_stride).</summary>
    public double? ExtendStride { get; init; }

    /// <summary>New decoding steps instead of <see cref="Duration"/> (frames + codebooks − 1).</summary>
    public int? Steps { get; init; }

    /// <summary>The sampler's seed; the same seed gives the same music (default: a random one, reported in the result).</summary>
    public ulong? Seed { get; init; }

    /// <summary>Take the most likely code at every step instead of sampling.</summary>
    public bool Greedy { get; init; }

    /// <summary>Sample among the k most likely codes (0: all).</summary>
    public int? TopK { get; init; }

    /// <summary>Sample among the most likely codes that make up this probability.</summary>
    public double? TopP { get; init; }

    /// <summary>Softmax temperature.</summary>
    public double? Temperature { get; init; }

    /// <summary>Classifier-free guidance scale; ≤ 1 turns it off.</summary>
    public double? Guidance { get; init; }

    /// <summary>Audio to continue; the result starts with it (re-decoded), as the reference returns it.</summary>
    public IReadOnlyList<AudioClip> AudioPrompts { get; init; } = [];

    /// <summary>Codes to continue instead of audio, [items, channels, codebooks, frames], such as a previous result's.</summary>
    public CodesBatch? PromptCodes { get; init; }

    /// <summary>Tunes whose chroma a melody checkpoint follows, at most 30 s each.</summary>
    public IReadOnlyList<AudioClip> Melodies { get; init; } = [];

    /// <summary>A request for one item per text description, with the checkpoint's defaults.</summary>
    public static MusicRequest FromText(params string[] prompts) => new() { Prompts = prompts };
}
