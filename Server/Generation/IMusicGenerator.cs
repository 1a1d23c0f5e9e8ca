using MusicGen.Engine;
using MusicGen.Engine.Audio;
using MusicGen.Engine.Codec;
using MusicGen.Engine.Generation;

namespace MusicGen.Server.Generation;

/// <summary>
/// The one model the server runs, behind a narrow seam: it describes itself and generates one batch at a time.
/// The scheduler never calls it from two threads at once.
/// </summary>
public interface IMusicGenerator
{
    /// <summary>What the model is and what it can do.</summary>
    ModelInfo Model { get; }

    /// <summary>Tokens of a text prompt, to check its length before it is queued.</summary>
    int PromptTokens(string prompt);

    /// <summary>
    /// Generates every piece of the batch together. <paramref name="progress"/> hears each decoding step;
    /// <paramref name="audio"/> hears each piece's samples in order, in as many chunks as the generator makes
    /// (today one, at the end), adding up to <see cref="ModelInfo.SamplesFor"/> frames.
    /// </summary>
    Task<IReadOnlyList<GeneratedPiece>> GenerateAsync(
        BatchRequest batch, IProgress<GenerationProgress> progress, Action<int, AudioClip> audio, CancellationToken cancellation);
}

/// <summary>A model's description: the name it was loaded as, its audio and its limits.</summary>
/// <param name="Name">The checkpoint folder or Hub id.</param>
/// <param name="Device">The backend it runs on.</param>
/// <param name="SampleRate">Audio samples per second.</param>
/// <param name="Channels">Audio channels (1, or 2 for stereo models).</param>
/// <param name="FrameRate">Codec frames per second (one decoding step each).</param>
/// <param name="HopLength">Audio samples per codec frame.</param>
/// <param name="Codebooks">Codebooks per decoding step, all channels together.</param>
/// <param name="MaxSeconds">The longest piece it generates in one window, an audio prompt included (longer ones go window by window).</param>
/// <param name="DefaultSeconds">The length of a piece when a request gives none (from generation_config.json).</param>
/// <param name="FollowsMelody">Whether it follows a tune (a <c>melody</c> upload).</param>
/// <param name="ContinuesAudio">Whether it continues audio (a <c>continue</c> upload).</param>
/// <param name="DefaultSampling">Sampling settings when a request gives none (from generation_config.json; seed 0).</param>
public sealed record ModelInfo(
    string Name, string Device, int SampleRate, int Channels, int FrameRate, int HopLength, int Codebooks,
    double MaxSeconds, double DefaultSeconds, bool FollowsMelody, bool ContinuesAudio, SamplingOptions DefaultSampling)
{
    /// <summary>
    /// Audio frames of a piece of this many seconds, an audio prompt included: whole codec frames, rounded as the
    /// engine rounds one window, truncated as audiocraft cuts a piece longer than <paramref name="window"/>.
    /// </summary>
    public int SamplesFor(double seconds, double window = MusicgenGenerator.MaxSeconds) =>
        (seconds > window ? (int)(seconds * FrameRate) : (int)Math.Round(seconds * FrameRate)) * HopLength;

    /// <summary>
    /// Decoder steps of a piece of this many seconds: one per frame plus the delay of the last codebook, in every
    /// window of a piece longer than <paramref name="window"/> (windows <paramref name="extendStride"/> apart).
    /// </summary>
    public int StepsFor(double seconds, double window = MusicgenGenerator.MaxSeconds, double extendStride = LongformOptions.DefaultExtendStride)
    {
        int delay = Codebooks / Channels - 1;
        if (seconds <= window) return (int)Math.Round(seconds * FrameRate) + delay;
        return LongformGenerator.Plan(new LongformOptions(seconds, window, extendStride), FrameRate, initialPromptFrames: 0)
            .Sum(w => w.NewFrames == 0 ? 0 : w.NewFrames + delay);
    }
}

/// <summary>Pieces generated together: same length and sampling settings, one prompt (and uploads) each.</summary>
/// <param name="Pieces">One entry per piece.</param>
/// <param name="Seconds">Length of every piece, an audio prompt included.</param>
/// <param name="Sampling">Sampling settings and seed of the whole batch.</param>
/// <param name="Window">Seconds of each window of a piece longer than one.</param>
/// <param name="ExtendStride">Seconds between the starts of the windows of a piece longer than one.</param>
public sealed record BatchRequest(IReadOnlyList<PieceRequest> Pieces, double Seconds, SamplingOptions Sampling,
    double Window = MusicgenGenerator.MaxSeconds, double ExtendStride = LongformOptions.DefaultExtendStride);

/// <summary>
/// One piece: its text, and optionally audio to continue (at the model's rate and channels) or a tune to follow
/// (at its own rate).
/// </summary>
public sealed record PieceRequest(string Prompt, AudioClip? Continuation = null, AudioClip? Melody = null);

/// <summary>A generated piece: its audio (an audio prompt included) and its codes [channels, codebooks, frames].</summary>
public sealed record GeneratedPiece(AudioClip Audio, AudioCodes Codes);
