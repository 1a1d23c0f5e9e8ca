using MusicGen.Engine.Audio;
using MusicGen.Engine.Backends;
using MusicGen.Engine.Generation;
using MusicGen.Engine.Models.Musicgen;
using MusicGen.Engine.Text;
using MusicGen.Loaders;
using MusicGen.Loaders.Checkpoints;
using MusicGen.Loaders.Hub;

namespace MusicGen.Engine;

/// <summary>
/// Text to music with one MusicGen checkpoint on one backend: loaded once, then generating as many times as
/// asked; generations run one at a time (a backend serves one thread), concurrent calls wait. It does what the reference's processor and <c>generate</c> do around the
/// decoder: defaults from <c>generation_config.json</c>, duration to steps, audio prompts resampled and
/// left-padded, melodies to chroma, codes decoded to audio and the padding cut again.
/// </summary>
public sealed class MusicgenPipeline : IDisposable
{
    private readonly CheckpointFolder _checkpoint;
    private readonly bool _ownsCheckpoint;
    private readonly IMusicgenModel _model;
    private readonly MusicgenGenerator _generator;
    private readonly LongformGenerator _longform;
    private readonly Lock _generating = new();
    private ChromaFeatureExtractor? _chroma;

    /// <summary>
    /// Loads a checkpoint opened by the caller onto <paramref name="backend"/>, the linear layers' weight matrices
    /// in <paramref name="weightType"/>, the decoder's key/value cache in <paramref name="cacheType"/> (f32, f16 or
    /// q8; null: <see cref="DecoderCache.DefaultType"/> beside the weights). The pipeline borrows both: dispose it before them.
    /// </summary>
    /// <exception cref="CheckpointException">The checkpoint is not a complete MusicGen checkpoint.</exception>
    public MusicgenPipeline(CheckpointFolder checkpoint, IBackend backend, WeightType weightType = WeightType.F32, WeightType? cacheType = null)
        : this(checkpoint, backend, ownsCheckpoint: false, weightType, cacheType) { }

    private MusicgenPipeline(CheckpointFolder checkpoint, IBackend backend, bool ownsCheckpoint, WeightType weightType, WeightType? cacheType)
    {
        if (checkpoint.Musicgen is null)
            throw new CheckpointException($"{checkpoint.Folder}: a standalone EnCodec checkpoint has no MusicGen model to generate with");
        _checkpoint = checkpoint;
        _ownsCheckpoint = ownsCheckpoint;
        Backend = backend;
        var tokenizer = MusicGenException.Refine(() => T5Tokenizer.FromFolder(checkpoint.Folder), AsCheckpointError);
        _model = MusicGenException.Refine(() => MusicgenModels.Load(backend, checkpoint, weightType, cacheType), AsCheckpointError);
        WeightType = weightType;
        _generator = new MusicgenGenerator(backend, _model, tokenizer, checkpoint.Generation.DecoderStartTokenId);
        _longform = new LongformGenerator(_generator, FrameRate, SampleRate);
    }

    private static CheckpointException AsCheckpointError(MusicGenException e) => new(e.Message, e);

    private static InvalidRequestException AsRequestError(MusicGenException e) => new(e.Message, e);

    /// <summary>
    /// Opens a checkpoint folder or Hub id (<c>owner/name[@revision]</c>, found in or downloaded into the Hugging
    /// Face cache; <paramref name="log"/> hears download progress) and loads it onto <paramref name="backend"/>,
    /// which the pipeline borrows, the linear layers' weight matrices in <paramref name="weightType"/>, the decoder's
    /// key/value cache in <paramref name="cacheType"/> (null: <see cref="DecoderCache.DefaultType"/> beside the weights).
    /// </summary>
    /// <exception cref="CheckpointException">The checkpoint cannot be loaded.</exception>
    /// <exception cref="MusicGenException">The Hub id cannot be resolved or downloaded.</exception>
    public static MusicgenPipeline Open(string model, IBackend backend, Action<string>? log = null, WeightType weightType = WeightType.F32,
        WeightType? cacheType = null)
    {
        string folder = ModelLocator.Resolve(model, HubOptions.FromEnvironment(log));
        var checkpoint = MusicGenException.Refine(() => CheckpointFolder.Open(folder), AsCheckpointError);
        try
        {
            return new MusicgenPipeline(checkpoint, backend, ownsCheckpoint: true, weightType, cacheType);
        }
        catch
        {
            checkpoint.Dispose();
            throw;
        }
    }

    /// <summary>The type of the linear layers' weight matrices.</summary>
    public WeightType WeightType { get; }

    /// <summary>The type the decoder's key/value cache is held in: f32, f16 or q8.</summary>
    public WeightType CacheType => _model.Decoder.Decoder.CacheType;

    /// <summary>The backend the model runs on.</summary>
    public IBackend Backend { get; }

    /// <summary>The checkpoint folder the model came from.</summary>
    public string Folder => _checkpoint.Folder;

    /// <summary>The loaded model.</summary>
    public IMusicgenModel Model => _model;

    /// <summary>Samples per second of the audio.</summary>
    public int SampleRate => _model.Config.AudioEncoder.SamplingRate;

    /// <summary>Codec frames per second: one decoding step each.</summary>
    public int FrameRate => _model.Config.AudioEncoder.FrameRate;

    /// <summary>Audio channels the model generates (2 for stereo checkpoints).</summary>
    public int Channels => _model.Config.Decoder.AudioChannels;

    /// <summary>Whether the model follows melodies (<see cref="MusicRequest.Melodies"/>).</summary>
    public bool AcceptsMelodies => _model.AcceptsMelodies;

    /// <summary>Whether the model continues audio prompts (<see cref="MusicRequest.AudioPrompts"/>, <see cref="MusicRequest.PromptCodes"/>).</summary>
    public bool AcceptsAudioPrompts => _model.AcceptsAudioPrompts;

    /// <summary>Decoding steps for a duration in seconds: one per frame plus the delay of the last codebook.</summary>
    public int StepsFor(double seconds) => _generator.StepsFor(seconds);

    /// <summary>Generates the request; see <see cref="Generate(GenerationPlan, IProgress{GenerationProgress}?, CancellationToken)"/>.</summary>
    public MusicResult Generate(MusicRequest request, IProgress<GenerationProgress>? progress = null, CancellationToken cancellation = default) =>
        Generate(Prepare(request), progress, cancellation);

    /// <summary>Generates on a worker thread.</summary>
    public Task<MusicResult> GenerateAsync(MusicRequest request, IProgress<GenerationProgress>? progress = null, CancellationToken cancellation = default) =>
        Task.Run(() => Generate(request, progress, cancellation), cancellation);

    /// <summary>
    /// Runs a prepared request, reporting every decoding step to <paramref name="progress"/>. Cancellation stops
    /// at the next step with an <see cref="OperationCanceledException"/>, releasing what the generation held.
    /// </summary>
    /// <exception cref="InvalidRequestException">The request asks what the model cannot do.</exception>
    /// <exception cref="OperationCanceledException">The generation was cancelled.</exception>
    public MusicResult Generate(GenerationPlan plan, IProgress<GenerationProgress>? progress = null, CancellationToken cancellation = default)
    {
        GenerationResult result;
        AudioBatch decoded;
        lock (_generating)
        {
            result = MusicGenException.Refine(() => Run(plan, progress, cancellation, onFrames: null), AsRequestError);
            cancellation.ThrowIfCancellationRequested();
            decoded = _generator.DecodeAudio(result.Codes);
        }
        // MusicgenProcessor.batch_decode: the left padding of a shorter audio prompt is cut off again.
        var audio = new AudioBatch(decoded.SampleRate, decoded.Batch, decoded.Channels, decoded.Samples, decoded.Values,
            plan.Paddings.Select(p => Math.Min(p, decoded.Samples)).ToArray());
        return new MusicResult(audio, result.Codes, result.PromptFrames, FrameRate, plan.Sampling.Seed);
    }

    /// <summary>
    /// Generates like <see cref="Generate(GenerationPlan, IProgress{GenerationProgress}?, CancellationToken)"/>, but
    /// hands the audio to <paramref name="onAudio"/> in chunks while it is generated (on the generating thread,
    /// about every half second of audio; the first after about half a second) instead of keeping it, so memory does
    /// not grow with the length of the piece beyond its codes, which it returns. The chunks, one after another, are
    /// the audio Generate returns (within 1e-6 of its peak); each chunk's Starts mark what of the item's prompt
    /// padding it still holds.
    /// </summary>
    public MusicCodes Generate(GenerationPlan plan, Action<AudioBatch> onAudio, IProgress<GenerationProgress>? progress = null,
        CancellationToken cancellation = default)
    {
        var layout = _generator.Layout;
        using var stream = new AudioStream(_model.AudioEncoder, plan.Batch, layout.Channels, layout.CodebooksPerChannel, StreamChunkFrames);
        long emitted = 0;
        void Emit(AudioBatch chunk)
        {
            if (chunk.Samples == 0) return;
            var starts = plan.Paddings.Select(p => (int)Math.Clamp(p - emitted, 0, chunk.Samples)).ToArray();
            emitted += chunk.Samples;
            onAudio(new AudioBatch(chunk.SampleRate, chunk.Batch, chunk.Channels, chunk.Samples, chunk.Values, starts));
        }
        lock (_generating)
        {
            var result = MusicGenException.Refine(() => Run(plan, progress, cancellation, onFrames: (codes, _) => Emit(stream.Push(codes))), AsRequestError);
            Emit(stream.Finish());
            return new MusicCodes(result.Codes, result.PromptFrames, FrameRate, plan.Sampling.Seed);
        }
    }

    /// <summary>
    /// The audio as an asynchronous stream of chunks while a worker thread generates it (see
    /// <see cref="Generate(GenerationPlan, Action{AudioBatch}, IProgress{GenerationProgress}?, CancellationToken)"/>);
    /// generation waits while the reader is more than a few chunks behind.
    /// </summary>
    public async IAsyncEnumerable<AudioBatch> StreamAsync(GenerationPlan plan, IProgress<GenerationProgress>? progress = null,
        [System.Runtime.CompilerServices.EnumeratorCancellation] CancellationToken cancellation = default)
    {
        using var stop = CancellationTokenSource.CreateLinkedTokenSource(cancellation);
        var chunks = System.Threading.Channels.Channel.CreateBounded<AudioBatch>(new System.Threading.Channels.BoundedChannelOptions(4) { SingleReader = true, SingleWriter = true });
        var worker = Task.Run(() =>
        {
            try
            {
                Generate(plan, chunk => chunks.Writer.WriteAsync(chunk, stop.Token).AsTask().GetAwaiter().GetResult(), progress, stop.Token);
            }
            finally
            {
                chunks.Writer.TryComplete();
            }
        }, stop.Token);
        try
        {
            await foreach (var chunk in chunks.Reader.ReadAllAsync(stop.Token)) yield return chunk;
        }
        finally
        {
            stop.Cancel(); // a reader that stops early releases the worker
            try { await worker; } catch (OperationCanceledException) when (!cancellation.IsCancellationRequested) { }
        }
        await worker;
    }

    /// <summary>Frames decoded at a time while streaming: half a second.</summary>
    private int StreamChunkFrames => Math.Max(1, FrameRate / 2);

    /// <summary>One window, or a long piece window by window (a melody's chroma following each window's offset).</summary>
    private GenerationResult Run(GenerationPlan plan, IProgress<GenerationProgress>? progress, CancellationToken cancellation, FramesHandler? onFrames)
    {
        if (plan.Longform is not { } options) return _generator.Generate(plan.Request, progress, cancellation, onFrames: onFrames);
        var melodyAt = plan.MelodyWaveforms is { } tunes
            ? LongformGenerator.MelodyFollower(_chroma ??= ChromaFeatureExtractor.FromFolder(_checkpoint.Folder), tunes, options.Window)
            : null;
        return _longform.Generate(plan.Request, options, progress, cancellation, onFrames, melodyAt);
    }

    /// <summary>
    /// Checks a request against the model and prepares its inputs, so that every mistake in it is reported
    /// before the generation starts.
    /// </summary>
    /// <exception cref="InvalidRequestException">The request asks what the model cannot do.</exception>
    public GenerationPlan Prepare(MusicRequest request) => MusicGenException.Refine(() => PrepareChecked(request), AsRequestError);

    private GenerationPlan PrepareChecked(MusicRequest request)
    {
        int batch = BatchOf(request);
        var sampling = Sampling(request);
        var audioPrompt = request.AudioPrompts.Count > 0 ? AudioPromptOf(request.AudioPrompts, batch) : null;
        if (audioPrompt is not null && request.PromptCodes is not null) throw new MusicGenException("give audio prompts or prompt codes, not both");
        var longform = LongformOf(request);
        var tunes = request.Melodies.Count > 0 ? MelodyWaveforms(request.Melodies, batch, longform is not null) : null;
        var melody = tunes is null || longform is not null ? null : Chroma(tunes);
        int hop = _model.Config.AudioEncoder.HopLength;
        int promptFrames = request.PromptCodes?.Frames ?? (audioPrompt is null ? 0 : (audioPrompt.Length + hop - 1) / hop);
        var paddings = Enumerable.Range(0, batch).Select(b => audioPrompt?.PaddingOf(b) ?? 0).ToArray();
        if (longform is not null)
        {
            if (promptFrames >= longform.Window * FrameRate)
                throw new MusicGenException($"the audio prompt ({(double)promptFrames / FrameRate:0.00} s) must be shorter than the window ({longform.Window:0.##} s)");
            var windows = LongformGenerator.Plan(longform, FrameRate, promptFrames);
            var longRequest = new GenerationRequest(request.Prompts, 0, sampling, batch, audioPrompt, null, request.PromptCodes);
            return new GenerationPlan(longRequest, paddings, longform, _longform.StepsOf(windows), tunes);
        }
        int steps = StepsOf(request, promptFrames);
        return new GenerationPlan(new GenerationRequest(request.Prompts, steps, sampling, batch, audioPrompt, melody, request.PromptCodes), paddings);
    }

    /// <summary>
    /// The windows of a piece longer than one window, or null for a piece that fits one. Window and stride are
    /// checked whenever they are given (0 &lt; stride &lt; window ≤ the model's limit), and the duration is at most an hour.
    /// </summary>
    private LongformOptions? LongformOf(MusicRequest request)
    {
        var options = new LongformOptions(request.Duration ?? 1, request.Window ?? MusicgenGenerator.MaxSeconds,
            request.ExtendStride ?? LongformOptions.DefaultExtendStride);
        if (request.Window is not null || request.ExtendStride is not null || request.Duration is not null) options.Validate(MusicgenGenerator.MaxSeconds);
        if (request.Duration is not double duration || duration <= options.Window) return null;
        if (request.Steps is not null) throw new MusicGenException("give a duration or a number of steps, not both");
        return options;
    }

    private static int BatchOf(MusicRequest request)
    {
        if (request.Prompts.Count > 0 && request.Samples is not null)
            throw new MusicGenException("samples are for unconditional generation; with prompts, each prompt is one piece");
        int batch = request.Prompts.Count > 0 ? request.Prompts.Count
            : request.Samples ?? Math.Max(request.PromptCodes?.Batch ?? 1, Math.Max(request.AudioPrompts.Count, request.Melodies.Count));
        if (batch < 1) throw new MusicGenException($"{batch} samples asked; at least one is needed");
        return batch;
    }

    /// <summary>The checkpoint's generation_config.json, overridden by the request.</summary>
    private SamplingOptions Sampling(MusicRequest request)
    {
        var defaults = SamplingOptions.FromGenerationConfig(_checkpoint.Generation, request.Seed ?? (ulong)Random.Shared.NextInt64(0, int.MaxValue));
        var sampling = defaults with
        {
            Greedy = request.Greedy || defaults.Greedy,
            GuidanceScale = request.Guidance ?? defaults.GuidanceScale,
            TopK = request.TopK ?? defaults.TopK,
            TopP = request.TopP ?? defaults.TopP,
            Temperature = request.Temperature ?? defaults.Temperature,
        };
        sampling.Validate();
        return sampling;
    }

    /// <summary>New decoding steps: as asked, or what the duration leaves after the prompt, or the checkpoint's default.</summary>
    private int StepsOf(MusicRequest request, int promptFrames)
    {
        if (request.Steps is int steps)
        {
            if (request.Duration is not null) throw new MusicGenException("give a duration or a number of steps, not both");
            return steps;
        }
        if (request.Duration is not double seconds)
            return _checkpoint.Generation.MaxNewTokens ?? (_checkpoint.Generation.MaxLength ?? 1500) - 1 - promptFrames;
        if (!(seconds > 0)) throw new MusicGenException($"the duration {seconds} s must be positive");
        steps = StepsFor(seconds) - promptFrames;
        if (steps < 1)
            throw new MusicGenException($"a duration of {seconds} s leaves nothing to generate after the audio prompt ({(double)promptFrames / FrameRate:0.00} s)");
        return steps;
    }

    /// <summary>The audio prompts at the codec's rate and the model's channels, left-padded as MusicgenProcessor does.</summary>
    private AudioPrompt AudioPromptOf(IReadOnlyList<AudioClip> clips, int batch) =>
        AudioPrompt.FromClips(PerItem(clips, batch, "audio prompt")
            .Select(clip => clip.Convert(SampleRate, Channels).Channels)
            .ToArray());

    /// <summary>The tunes, mono at the chroma extractor's rate; at most 30 s each unless the piece is long (each window takes its part).</summary>
    private IReadOnlyList<float[]> MelodyWaveforms(IReadOnlyList<AudioClip> clips, int batch, bool longform)
    {
        if (!AcceptsMelodies)
            throw new MusicGenException($"following a melody needs a melody checkpoint (such as facebook/musicgen-melody); {Folder} is {_checkpoint.ModelType}");
        var extractor = _chroma ??= ChromaFeatureExtractor.FromFolder(_checkpoint.Folder);
        var waveforms = new List<float[]>();
        foreach (var (clip, i) in PerItem(clips, batch, "melody").Select((c, i) => (c, i)))
        {
            var waveform = extractor.MonoWaveform(clip);
            double seconds = (double)waveform.Length / extractor.SampleRate;
            if (waveform.Length > extractor.MaxSamples && !longform)
                throw new MusicGenException($"melody {i + 1} is {seconds:0.0} s; this model follows at most {extractor.MaxSamples / extractor.SampleRate} s");
            if (waveform.Length < extractor.HopLength)
                throw new MusicGenException($"melody {i + 1} is {waveform.Length} samples, too short for one chroma frame ({extractor.HopLength} samples)");
            if (waveform.All(v => v == 0f)) throw new MusicGenException($"melody {i + 1} is silent; it has no pitch to follow");
            waveforms.Add(waveform);
        }
        return waveforms;
    }

    /// <summary>The one-hot chroma of the tunes, as the melody feature extractor computes it.</summary>
    private MelodyChroma Chroma(IReadOnlyList<float[]> waveforms)
    {
        var extractor = _chroma ??= ChromaFeatureExtractor.FromFolder(_checkpoint.Folder);
        var oneHot = extractor.Extract(waveforms, out int frames);
        return new MelodyChroma(waveforms.Count, frames, extractor.NumChroma, oneHot);
    }

    /// <summary>One clip for every item, or exactly one per item.</summary>
    private static IReadOnlyList<AudioClip> PerItem(IReadOnlyList<AudioClip> clips, int batch, string what)
    {
        if (clips.Count == 1) return Enumerable.Repeat(clips[0], batch).ToArray();
        if (clips.Count != batch) throw new MusicGenException($"give one {what} for every piece or one per piece; got {clips.Count} for {batch}");
        return clips;
    }

    /// <summary>Frees the model's weights on the device, and the checkpoint when the pipeline opened it.</summary>
    public void Dispose()
    {
        _model.Dispose();
        if (_ownsCheckpoint) _checkpoint.Dispose();
    }
}
