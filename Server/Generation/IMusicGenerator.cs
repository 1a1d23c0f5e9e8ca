using MusicGen.Engine;
using MusicGen.Engine.Audio;
using MusicGen.Engine.Codec;

namespace MusicGen.Server.Generation;

/// <summary>
/// The one model the server runs, behind a narrow seam: it describes itself, checks a request (the engine's
/// <see cref="MusicgenPipeline.Prepare"/>) and generates one plan at a time. The scheduler never calls
/// <see cref="GenerateAsync"/> from two threads at once.
/// </summary>
public interface IMusicGenerator
{
    /// <summary>What the model is and what it can do.</summary>
    ModelInfo Model { get; }

    /// <summary>Checks a request within the server's limits and makes it a plan.</summary>
    /// <exception cref="InvalidRequestException">The request is refused, naming its field.</exception>
    GenerationPlan Prepare(MusicRequest request, RequestLimits limits);

    /// <summary>
    /// Generates every item of the plan together. <paramref name="progress"/> hears each decoding step;
    /// <paramref name="audio"/> hears each item's samples in order, in as many chunks as the generator makes, adding
    /// up to the plan's <see cref="GenerationPlan.SamplesOf"/>.
    /// </summary>
    Task<IReadOnlyList<GeneratedPiece>> GenerateAsync(
        GenerationPlan plan, IProgress<GenerationProgress> progress, Action<int, AudioClip> audio, CancellationToken cancellation);
}

/// <summary>A model's description: the name it was loaded as, its audio and what it takes.</summary>
/// <param name="Name">The checkpoint folder or Hub id.</param>
/// <param name="Device">The backend it runs on.</param>
/// <param name="SampleRate">Audio samples per second.</param>
/// <param name="Channels">Audio channels (1, or 2 for stereo models).</param>
/// <param name="DefaultSeconds">The length of a piece when a request gives none (from generation_config.json).</param>
/// <param name="FollowsMelody">Whether it follows a tune (a <c>melody</c> upload).</param>
/// <param name="ContinuesAudio">Whether it continues audio (a <c>continue</c> upload).</param>
public sealed record ModelInfo(string Name, string Device, int SampleRate, int Channels, double DefaultSeconds, bool FollowsMelody, bool ContinuesAudio);

/// <summary>A generated piece: its audio (an audio prompt included) and its codes [channels, codebooks, frames].</summary>
public sealed record GeneratedPiece(AudioClip Audio, AudioCodes Codes);
