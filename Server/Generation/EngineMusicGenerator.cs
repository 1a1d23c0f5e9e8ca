using MusicGen.Engine;
using MusicGen.Engine.Audio;

namespace MusicGen.Server.Generation;

/// <summary>
/// <see cref="IMusicGenerator"/> on the engine's <see cref="MusicgenPipeline"/>: a batch is one plan, its audio
/// streamed in chunks while it is generated.
/// </summary>
public sealed class EngineMusicGenerator : IMusicGenerator
{
    private readonly MusicgenPipeline _pipeline;

    /// <summary>Serves a loaded pipeline (which it borrows); <paramref name="name"/> is how the model was named.</summary>
    public EngineMusicGenerator(MusicgenPipeline pipeline, string name)
    {
        _pipeline = pipeline;
        // The length a request without one gets: the checkpoint's.
        var defaults = pipeline.Prepare(MusicRequest.FromText("default"));
        Model = new ModelInfo(
            name, pipeline.Backend.Name, pipeline.SampleRate, pipeline.Channels,
            DefaultSeconds: Math.Clamp((double)defaults.Frames / pipeline.FrameRate, 1.0 / pipeline.FrameRate, MusicRequest.MaxWindow),
            FollowsMelody: pipeline.AcceptsMelodies,
            ContinuesAudio: pipeline.AcceptsAudioPrompts);
    }

    /// <inheritdoc />
    public ModelInfo Model { get; }

    /// <inheritdoc />
    public GenerationPlan Prepare(MusicRequest request, RequestLimits limits) => _pipeline.Prepare(request, limits);

    /// <inheritdoc />
    public Task<IReadOnlyList<GeneratedPiece>> GenerateAsync(
        GenerationPlan plan, IProgress<GenerationProgress> progress, Action<int, AudioClip> audio, CancellationToken cancellation) =>
        Task.Factory.StartNew(() => Generate(plan, progress, audio, cancellation), cancellation, TaskCreationOptions.LongRunning, TaskScheduler.Default);

    /// <summary>
    /// Streams each piece's audio as the pipeline decodes it (about every half second), keeping it for the result;
    /// a piece without end keeps none (it ends by cancellation).
    /// </summary>
    private IReadOnlyList<GeneratedPiece> Generate(GenerationPlan plan, IProgress<GenerationProgress> progress, Action<int, AudioClip> audio, CancellationToken cancellation)
    {
        var chunks = Enumerable.Range(0, plan.Batch).Select(_ => new List<AudioClip>()).ToArray();
        var codes = _pipeline.Generate(plan, batch =>
        {
            for (int b = 0; b < plan.Batch; b++)
            {
                if (batch.Starts[b] == batch.Samples) continue; // the chunk is all prompt padding of this item
                var clip = batch.Clip(b); // without what the chunk holds of the item's prompt padding
                if (!plan.IsEndless) chunks[b].Add(clip); // a stream's audio is played, not kept
                audio(b, clip);
            }
        }, progress, cancellation);
        return Enumerable.Range(0, plan.Batch).Select(b =>
        {
            var clip = new AudioClip(Model.SampleRate, Enumerable.Range(0, Model.Channels)
                .Select(c => chunks[b].SelectMany(chunk => chunk.Channels[c]).ToArray()).ToArray());
            return new GeneratedPiece(clip, codes.Codes.ToAudioCodes(b, Model.SampleRate, codes.FrameRate, clip.Length));
        }).ToArray();
    }
}
