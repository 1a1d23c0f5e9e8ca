using MusicGen.Engine.Audio;
using MusicGen.Engine.Backends;
using MusicGen.Engine.Generation;
using MusicGen.Engine.Models.Musicgen;
using MusicGen.Engine.Text;
using MusicGen.Loaders;
using MusicGen.Loaders.Adapters;
using MusicGen.Loaders.Checkpoints;
using MusicGen.Loaders.Hub;

namespace MusicGen.Engine;

/// <summary>
/// Text to music with one MusicGen checkpoint on one backend: loaded once, then generating as many times as
/// asked; generations run one at a time (a backend serves one thread), concurrent calls wait. It does what the reference's processor and <c>generate</c> do around the
/// decoder: <see cref="Prepare"/> makes a request a <see cref="GenerationPlan"/> (defaults from
/// <c>generation_config.json</c>, duration to windows and steps, audio prompts resampled and left-padded, melodies
/// to chroma), and <see cref="Generate(GenerationPlan, GenerationSink, IProgress{GenerationProgress}?, CancellationToken)"/>
/// runs a plan, handing its codes and audio to a sink; the other forms of Generate and <see cref="StreamAsync"/>
/// are that one with a sink of their own.
/// </summary>
public sealed partial class MusicgenPipeline : IDisposable
{
    private readonly CheckpointFolder _checkpoint;
    private readonly bool _ownsCheckpoint;
    private readonly IMusicgenModel _model;
    private readonly T5Tokenizer _tokenizer;
    private readonly Lazy<ChromaFeatureExtractor> _chroma;
    private readonly MusicgenGenerator _generator;
    private readonly Lock _generating = new();

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
        _tokenizer = MusicGenException.Refine(() => T5Tokenizer.FromFolder(checkpoint.Folder), AsCheckpointError);
        _model = MusicGenException.Refine(() => MusicgenModels.Load(backend, checkpoint, weightType, cacheType), AsCheckpointError);
        WeightType = weightType;
        _chroma = new(() => ChromaFeatureExtractor.FromFolder(checkpoint.Folder));
        _generator = new MusicgenGenerator(backend, _model, _tokenizer, checkpoint.Generation.DecoderStartTokenId, _chroma);
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
        WeightType? cacheType = null) =>
        Open(model, backend, [], log, weightType, cacheType);

    /// <summary>
    /// Opens a model as <see cref="Open(string, IBackend, Action{string}?, WeightType, WeightType?)"/> does, with PEFT LoRA
    /// <paramref name="adapters"/> (folders or Hub ids, each with its scale) merged into its weights, in order, before
    /// they are converted to <paramref name="weightType"/>; generation then runs as fast as without them.
    /// </summary>
    /// <exception cref="AdapterException">An adapter cannot be found, read or merged into this model.</exception>
    /// <exception cref="CheckpointException">The checkpoint cannot be loaded.</exception>
    /// <exception cref="MusicGenException">A Hub id cannot be resolved or downloaded.</exception>
    public static MusicgenPipeline Open(string model, IBackend backend, IReadOnlyList<AdapterReference> adapters, Action<string>? log = null,
        WeightType weightType = WeightType.F32, WeightType? cacheType = null)
    {
        var checkpoint = ModelLocator.OpenCheckpoint(model, adapters, HubOptions.FromEnvironment(log));
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

    /// <summary>The adapters merged into the model's weights, in order.</summary>
    public IReadOnlyList<AdapterReference> Adapters => _checkpoint.Adapters.Adapters.Select(a => a.Reference).ToList();

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

    /// <summary>Decoding steps for a piece of one window of <paramref name="seconds"/>: one per frame plus the delay of the last codebook.</summary>
    public int StepsFor(double seconds) => _generator.Layout.StepsFor(FramesIn(seconds));

    /// <summary>
    /// Runs a prepared request, handing the codes and audio to <paramref name="sink"/> as they are made and
    /// reporting every decoding step to <paramref name="progress"/>. Cancellation stops at the next step with an
    /// <see cref="OperationCanceledException"/>, releasing what the generation held.
    /// </summary>
    /// <returns>The codes of the whole piece.</returns>
    /// <exception cref="InvalidRequestException">The model cannot run the plan.</exception>
    /// <exception cref="OperationCanceledException">The generation was cancelled.</exception>
    public MusicCodes Generate(GenerationPlan plan, GenerationSink sink, IProgress<GenerationProgress>? progress = null, CancellationToken cancellation = default)
    {
        lock (_generating)
        {
            var result = MusicGenException.Refine(() => _generator.Generate(plan, sink, progress, cancellation), AsRequestError);
            return new MusicCodes(result.Codes, result.PromptFrames, FrameRate, plan.Sampling.Seed);
        }
    }

    /// <summary>Generates the request; see <see cref="Generate(GenerationPlan, IProgress{GenerationProgress}?, CancellationToken)"/>.</summary>
    public MusicResult Generate(MusicRequest request, IProgress<GenerationProgress>? progress = null, CancellationToken cancellation = default) =>
        Generate(Prepare(request), progress, cancellation);

    /// <summary>Generates on a worker thread.</summary>
    public Task<MusicResult> GenerateAsync(MusicRequest request, IProgress<GenerationProgress>? progress = null, CancellationToken cancellation = default) =>
        Task.Run(() => Generate(request, progress, cancellation), cancellation);

    /// <summary>Generates the whole piece, its audio decoded whole once the codes are complete.</summary>
    public MusicResult Generate(GenerationPlan plan, IProgress<GenerationProgress>? progress = null, CancellationToken cancellation = default)
    {
        var whole = new WholePiece();
        var codes = Generate(plan, whole, progress, cancellation);
        return new MusicResult(whole.Audio!, codes.Codes, codes.PromptFrames, codes.FrameRate, codes.Seed);
    }

    /// <summary>
    /// Generates like <see cref="Generate(GenerationPlan, IProgress{GenerationProgress}?, CancellationToken)"/>, but
    /// hands the audio to <paramref name="onAudio"/> in chunks while it is generated (on the generating thread,
    /// about every half second of audio; the first after about half a second) instead of keeping it, so memory does
    /// not grow with the length of the piece beyond its codes, which it returns. The chunks, one after another, are
    /// the audio Generate returns (within float rounding); each chunk's Starts mark what of the item's prompt
    /// padding it still holds.
    /// </summary>
    public MusicCodes Generate(GenerationPlan plan, Action<AudioBatch> onAudio, IProgress<GenerationProgress>? progress = null,
        CancellationToken cancellation = default) =>
        Generate(plan, new Chunks(Math.Max(1, FrameRate / 2), onAudio), progress, cancellation);

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

    /// <summary>Keeps the piece's audio, decoded whole.</summary>
    private sealed class WholePiece : GenerationSink
    {
        public AudioBatch? Audio { get; private set; }

        public override void OnAudio(AudioBatch chunk) => Audio = chunk;
    }

    /// <summary>Hands the audio on in chunks of <paramref name="frames"/> frames while it is generated.</summary>
    private sealed class Chunks(int frames, Action<AudioBatch> onAudio) : GenerationSink
    {
        public override int? ChunkFrames => frames;

        public override void OnAudio(AudioBatch chunk) => onAudio(chunk);
    }

    /// <summary>Frees the model's weights on the device, and the checkpoint when the pipeline opened it.</summary>
    public void Dispose()
    {
        _model.Dispose();
        if (_ownsCheckpoint) _checkpoint.Dispose();
    }
}
