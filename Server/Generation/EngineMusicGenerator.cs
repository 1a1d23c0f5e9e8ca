using MusicGen.Engine;
using MusicGen.Engine.Audio;
using MusicGen.Engine.Generation;
using MusicGen.Engine.Text;

namespace MusicGen.Server.Generation;

/// <summary>
/// <see cref="IMusicGenerator"/> on the engine's <see cref="MusicgenPipeline"/>: a batch is one pipeline request,
/// its audio streamed in chunks while it is generated.
/// </summary>
public sealed class EngineMusicGenerator : IMusicGenerator
{
    private readonly MusicgenPipeline _pipeline;
    private readonly T5Tokenizer _tokenizer;

    /// <summary>Serves a loaded pipeline (which it borrows); <paramref name="name"/> is how the model was named.</summary>
    public EngineMusicGenerator(MusicgenPipeline pipeline, string name)
    {
        _pipeline = pipeline;
        _tokenizer = T5Tokenizer.FromFolder(pipeline.Folder);
        var config = pipeline.Model.Config;
        int delay = config.Decoder.NumCodebooks / config.Decoder.AudioChannels - 1;
        // The defaults a request without settings gets: the checkpoint's length and sampling (its seed is the server's to pick).
        var defaults = pipeline.Prepare(MusicRequest.FromText("default"));
        double maxSeconds = MusicgenGenerator.MaxSeconds;
        Model = new ModelInfo(
            name, pipeline.Backend.Name, pipeline.SampleRate, pipeline.Channels, pipeline.FrameRate, config.AudioEncoder.HopLength,
            config.Decoder.NumCodebooks, maxSeconds,
            DefaultSeconds: Math.Clamp((double)(defaults.Steps - delay) / pipeline.FrameRate, 1.0 / pipeline.FrameRate, maxSeconds),
            FollowsMelody: pipeline.AcceptsMelodies,
            ContinuesAudio: pipeline.AcceptsAudioPrompts,
            DefaultSampling: defaults.Sampling with { Seed = 0 });
    }

    /// <inheritdoc />
    public ModelInfo Model { get; }

    /// <inheritdoc />
    public int PromptTokens(string prompt) => _tokenizer.Encode(prompt).Length;

    /// <inheritdoc />
    public Task<IReadOnlyList<GeneratedPiece>> GenerateAsync(
        BatchRequest batch, IProgress<GenerationProgress> progress, Action<int, AudioClip> audio, CancellationToken cancellation)
    {
        var pieces = batch.Pieces;
        var sampling = batch.Sampling;
        var request = new MusicRequest
        {
            Prompts = pieces.Select(p => p.Prompt).ToArray(),
            Duration = batch.Seconds,
            Window = batch.Window,
            ExtendStride = batch.ExtendStride,
            Seed = sampling.Seed,
            Greedy = sampling.Greedy,
            TopK = sampling.TopK,
            TopP = sampling.TopP,
            Temperature = sampling.Temperature,
            Guidance = sampling.GuidanceScale,
            AudioPrompts = Uploads(pieces, p => p.Continuation, "an audio prompt"),
            Melodies = Uploads(pieces, p => p.Melody, "a melody"),
        };
        var plan = _pipeline.Prepare(request);
        return Task.Factory.StartNew(() => Generate(plan, pieces.Count, progress, audio, cancellation),
            cancellation, TaskCreationOptions.LongRunning, TaskScheduler.Default);
    }

    /// <summary>Streams each piece's audio as the pipeline decodes it (about every half second), keeping it for the result.</summary>
    private IReadOnlyList<GeneratedPiece> Generate(GenerationPlan plan, int count, IProgress<GenerationProgress> progress, Action<int, AudioClip> audio, CancellationToken cancellation)
    {
        var chunks = Enumerable.Range(0, count).Select(_ => new List<AudioClip>()).ToArray();
        var codes = _pipeline.Generate(plan, batch =>
        {
            for (int b = 0; b < count; b++)
            {
                if (batch.Starts[b] == batch.Samples) continue; // the chunk is all prompt padding of this item
                var clip = batch.Clip(b); // without what the chunk holds of the item's prompt padding
                chunks[b].Add(clip);
                audio(b, clip);
            }
        }, progress, cancellation);
        return Enumerable.Range(0, count).Select(b =>
        {
            var clip = new AudioClip(Model.SampleRate, Enumerable.Range(0, Model.Channels)
                .Select(c => chunks[b].SelectMany(chunk => chunk.Channels[c]).ToArray()).ToArray());
            return new GeneratedPiece(clip, codes.Codes.ToAudioCodes(b, Model.SampleRate, Model.FrameRate, clip.Length));
        }).ToArray();
    }

    /// <summary>Every piece's upload of one kind, or none; a batch mixing pieces with and without is a scheduler bug.</summary>
    private static AudioClip[] Uploads(IReadOnlyList<PieceRequest> pieces, Func<PieceRequest, AudioClip?> upload, string what)
    {
        var clips = pieces.Select(upload).OfType<AudioClip>().ToArray();
        return clips.Length == 0 || clips.Length == pieces.Count ? clips
            : throw new InvalidOperationException($"pieces with and without {what} cannot share a batch");
    }
}
