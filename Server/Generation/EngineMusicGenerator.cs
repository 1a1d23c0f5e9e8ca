using MusicGen.Engine.Audio;
using MusicGen.Engine.Backends;
using MusicGen.Engine.Codec;
using MusicGen.Engine.Generation;
using MusicGen.Engine.Models.Musicgen;
using MusicGen.Engine.Text;
using MusicGen.Loaders;
using MusicGen.Loaders.Checkpoints;

namespace MusicGen.Server.Generation;

/// <summary>
/// <see cref="IMusicGenerator"/> on the engine: the models loaded once from a checkpoint onto a backend, a batch
/// generated as <c>musicgen generate</c> generates several prompts.
/// </summary>
public sealed class EngineMusicGenerator : IMusicGenerator
{
    private readonly IMusicgenModel _model;
    private readonly T5Tokenizer _tokenizer;
    private readonly MusicgenGenerator _generator;
    private readonly ChromaFeatureExtractor? _chroma;

    /// <summary>Loads the checkpoint's models onto the backend; <paramref name="name"/> is how the model was named.</summary>
    public EngineMusicGenerator(IBackend backend, CheckpointFolder checkpoint, string name)
    {
        _model = MusicgenModels.Load(backend, checkpoint);
        _tokenizer = T5Tokenizer.FromFolder(checkpoint.Folder);
        _generator = new MusicgenGenerator(backend, _model, _tokenizer, checkpoint.Generation.DecoderStartTokenId);
        bool melody = checkpoint.Kind == CheckpointKind.MusicgenMelody;
        _chroma = melody ? ChromaFeatureExtractor.FromFolder(checkpoint.Folder) : null;
        var codec = _model.Config.AudioEncoder;
        int defaultSteps = checkpoint.Generation.MaxNewTokens ?? (checkpoint.Generation.MaxLength ?? 1500) - 1;
        int delay = _model.Config.Decoder.NumCodebooks / _model.Config.Decoder.AudioChannels - 1;
        double maxSeconds = Math.Min(MusicgenGenerator.MaxSeconds, (double)(_generator.MaxSteps - delay) / codec.FrameRate);
        Model = new ModelInfo(
            name, backend.Name, codec.SamplingRate, _model.Config.Decoder.AudioChannels, codec.FrameRate, codec.HopLength,
            _model.Config.Decoder.NumCodebooks, maxSeconds,
            DefaultSeconds: Math.Clamp((double)(defaultSteps - delay) / codec.FrameRate, 1.0 / codec.FrameRate, maxSeconds),
            FollowsMelody: melody,
            DefaultSampling: SamplingOptions.FromGenerationConfig(checkpoint.Generation, seed: 0));
    }

    /// <inheritdoc />
    public ModelInfo Model { get; }

    /// <inheritdoc />
    public int PromptTokens(string prompt) => _tokenizer.Encode(prompt).Length;

    /// <inheritdoc />
    public Task<IReadOnlyList<GeneratedPiece>> GenerateAsync(
        BatchRequest batch, IProgress<StepProgress> progress, Action<int, AudioClip> audio, CancellationToken cancellation) =>
        Task.Factory.StartNew(() => Generate(batch, progress, audio, cancellation), cancellation, TaskCreationOptions.LongRunning, TaskScheduler.Default);

    private IReadOnlyList<GeneratedPiece> Generate(BatchRequest batch, IProgress<StepProgress> progress, Action<int, AudioClip> audio, CancellationToken cancellation)
    {
        var pieces = batch.Pieces;
        var prompt = pieces.Any(p => p.Continuation is not null) ? AudioPrompt.FromClips(pieces.Select(ContinuationSamples).ToArray()) : null;
        var melody = pieces.Any(p => p.Melody is not null) ? Chroma(pieces) : null;
        int promptFrames = prompt is null ? 0 : (prompt.Length + Model.HopLength - 1) / Model.HopLength;
        int steps = Model.StepsFor(batch.Seconds) - promptFrames;
        if (steps < 1) throw new MusicGenException($"a {batch.Seconds} s piece leaves nothing to generate after the audio prompt");
        var request = new GenerationRequest(pieces.Select(p => p.Prompt).ToArray(), steps, batch.Sampling, pieces.Count, prompt, melody);
        var result = _generator.Generate(request, (step, total) =>
        {
            cancellation.ThrowIfCancellationRequested();
            progress.Report(new StepProgress(step, total));
        });
        cancellation.ThrowIfCancellationRequested();
        var samples = _generator.DecodeAudio(result, out int channels, out int length);
        var generated = new GeneratedPiece[pieces.Count];
        for (int b = 0; b < pieces.Count; b++)
        {
            // MusicgenProcessor.batch_decode: the left padding of a shorter audio prompt is cut off again.
            int padding = prompt?.PaddingOf(b) ?? 0;
            var clip = new AudioClip(Model.SampleRate, Enumerable.Range(0, channels)
                .Select(c => samples.AsSpan((b * channels + c) * length + padding, length - padding).ToArray()).ToArray());
            generated[b] = new GeneratedPiece(clip, ItemCodes(result, b, channels));
            audio(b, clip);
        }
        return generated;
    }

    private static float[][] ContinuationSamples(PieceRequest piece) =>
        (piece.Continuation ?? throw new MusicGenException("pieces with and without an audio prompt cannot share a batch")).Channels;

    /// <summary>The one-hot chroma of every piece's tune, as the melody feature extractor computes it.</summary>
    private MelodyChroma Chroma(IReadOnlyList<PieceRequest> pieces)
    {
        var extractor = _chroma ?? throw new MusicGenException("this model does not follow melodies");
        var waveforms = pieces.Select(p => extractor.MonoWaveform(p.Melody ?? throw new MusicGenException("pieces with and without a melody cannot share a batch"))).ToArray();
        foreach (var waveform in waveforms)
        {
            if (waveform.Length > extractor.MaxSamples)
                throw new MusicGenException($"the melody is {(double)waveform.Length / extractor.SampleRate:0.0} s; this model follows at most {extractor.MaxSamples / extractor.SampleRate} s");
            if (waveform.Length < extractor.HopLength)
                throw new MusicGenException($"the melody is {waveform.Length} samples, too short for one chroma frame ({extractor.HopLength} samples)");
            if (waveform.All(v => v == 0f)) throw new MusicGenException("the melody is silent; it has no pitch to follow");
        }
        var oneHot = extractor.Extract(waveforms, out int frames);
        return new MelodyChroma(waveforms.Length, frames, extractor.NumChroma, oneHot);
    }

    /// <summary>The codes of one item, [channels, codebooks per channel, frames] (stereo codebooks are interleaved L0 R0 L1 R1 …).</summary>
    private AudioCodes ItemCodes(GenerationResult result, int item, int channels)
    {
        int perChannel = result.Codebooks / channels, frames = result.Frames;
        var values = new int[result.Codebooks * frames];
        for (int c = 0; c < channels; c++)
            for (int k = 0; k < perChannel; k++)
                result.Codes.AsSpan((item * result.Codebooks + k * channels + c) * frames, frames).CopyTo(values.AsSpan((c * perChannel + k) * frames));
        return new AudioCodes(channels, perChannel, frames, values, Model.SampleRate, Model.FrameRate, Samples: null);
    }
}
