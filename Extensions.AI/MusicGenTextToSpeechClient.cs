using System.Runtime.CompilerServices;
using Microsoft.Extensions.AI;
using MusicGen.Engine;
using MusicGen.Engine.Audio;
using MusicGen.Kernels;
using MusicGen.Engine.Backends;
using MusicGen.Loaders.Checkpoints;

namespace MusicGen.Extensions.AI;

/// <summary>
/// Microsoft.Extensions.AI's <see cref="ITextToSpeechClient"/> over <see cref="MusicgenPipeline"/>: the text is the
/// prompt, the audio the music. <see cref="TextToSpeechOptions.AudioFormat"/> picks the format by name (wav, flac,
/// opus, mp3, aac, m4a) or media type (default WAV); the generation settings come in
/// <see cref="TextToSpeechOptions.AdditionalProperties"/> under the names of <see cref="Properties"/>. Music has no
/// voice, language, pitch, volume or speed: those options, and <see cref="TextToSpeechOptions.ModelId"/> (the client
/// serves the one model it loaded, which responses name), are ignored. Generations run one at a time, as the
/// pipeline runs them.
/// </summary>
public sealed class MusicGenTextToSpeechClient : ITextToSpeechClient
{
    /// <summary>The <see cref="TextToSpeechOptions.AdditionalProperties"/> read, as the server's request fields name them.</summary>
    public static class Properties
    {
        /// <summary>Seconds of music (a number; default the checkpoint's).</summary>
        public const string Duration = "duration";

        /// <summary>Sampler seed (a whole number ≥ 0): the same request with the same seed gives the same audio.</summary>
        public const string Seed = "seed";

        public const string TopK = "top_k";
        public const string TopP = "top_p";
        public const string Temperature = "temperature";
        public const string Guidance = "guidance";

        /// <summary>true: the most likely code at every step.</summary>
        public const string Greedy = "greedy";

        public static IReadOnlyList<string> All { get; } = [Duration, Seed, TopK, TopP, Temperature, Guidance, Greedy];
    }

    private readonly MusicgenPipeline _pipeline;
    private readonly IBackend? _ownedBackend;
    private readonly bool _ownsPipeline;
    private readonly TextToSpeechClientMetadata _metadata;

    /// <summary>A client on a loaded pipeline, named <paramref name="modelId"/> in responses; the pipeline is borrowed unless <paramref name="ownsPipeline"/>.</summary>
    public MusicGenTextToSpeechClient(MusicgenPipeline pipeline, string modelId, bool ownsPipeline = false)
        : this(pipeline, modelId, ownsPipeline, ownedBackend: null)
    {
    }

    private MusicGenTextToSpeechClient(MusicgenPipeline pipeline, string modelId, bool ownsPipeline, IBackend? ownedBackend)
    {
        _pipeline = pipeline;
        _ownsPipeline = ownsPipeline;
        _ownedBackend = ownedBackend;
        _metadata = new TextToSpeechClientMetadata("musicgen", null, modelId);
    }

    /// <summary>
    /// Opens <paramref name="model"/> (a checkpoint folder or Hub id, as the CLI's <c>--model</c>) on
    /// <paramref name="device"/> (as <c>--device</c>: cpu, cuda, opencl, …) with its linear layers in
    /// <paramref name="weights"/>; the client owns both and frees them when disposed.
    /// </summary>
    /// <exception cref="MusicGenException">The device or the model cannot be opened.</exception>
    public static MusicGenTextToSpeechClient Open(string model, string device = "cpu", WeightType weights = WeightType.Q8)
    {
        var backend = BackendSelector.Open(device);
        try
        {
            return new MusicGenTextToSpeechClient(MusicgenPipeline.Open(model, backend, log: null, weights), model, ownsPipeline: true, backend);
        }
        catch
        {
            backend.Dispose();
            throw;
        }
    }

    /// <summary>Generates the whole piece and answers it as one <see cref="DataContent"/> in the format asked for.</summary>
    /// <exception cref="InvalidRequestException">An option is not valid (named in the message), before any generation.</exception>
    public async Task<TextToSpeechResponse> GetAudioAsync(string text, TextToSpeechOptions? options = null, CancellationToken cancellationToken = default)
    {
        var (plan, format) = Prepare(text, options);
        var result = await Task.Run(() => _pipeline.Generate(plan, progress: null, cancellationToken), cancellationToken);
        var bytes = new MemoryStream();
        format.Write(bytes, result.Audio.Clip(0));
        return new TextToSpeechResponse([new DataContent(bytes.ToArray(), format.MediaType)])
        {
            ModelId = _metadata.DefaultModelId,
            ResponseId = Guid.NewGuid().ToString("N"),
        };
    }

    /// <summary>
    /// Streams the piece while it is generated: a session-open update, then an audio-updating update for each chunk
    /// of audio (about every half second) holding the next bytes of the file, an audio-updated one with its last
    /// bytes, and a session-close one. The updates' data, one after another, are the file.
    /// </summary>
    /// <exception cref="InvalidRequestException">An option is not valid, or the format cannot be streamed (m4a).</exception>
    public async IAsyncEnumerable<TextToSpeechResponseUpdate> GetStreamingAudioAsync(string text, TextToSpeechOptions? options = null,
        [EnumeratorCancellation] CancellationToken cancellationToken = default)
    {
        var (plan, format) = Prepare(text, options);
        if (!format.CanStream) throw new InvalidRequestException($"AudioFormat {format.Name}: {format.Description} cannot be streamed (its index goes in front); ask for aac, or use GetAudioAsync");
        string responseId = Guid.NewGuid().ToString("N");
        TextToSpeechResponseUpdate Update(TextToSpeechResponseUpdateKind kind, byte[]? bytes) =>
            new(bytes is { Length: > 0 } ? [new DataContent(bytes, format.MediaType)] : [])
            {
                Kind = kind,
                ModelId = _metadata.DefaultModelId,
                ResponseId = responseId,
            };

        yield return Update(TextToSpeechResponseUpdateKind.SessionOpen, null);
        var pending = new PendingBytes();
        using (var writer = format.OpenWriter(pending, _pipeline.SampleRate, _pipeline.Channels, frames: plan.SamplesOf(0)))
        {
            await foreach (var chunk in _pipeline.StreamAsync(plan, progress: null, cancellationToken))
            {
                if (chunk.Starts[0] == chunk.Samples) continue; // all prompt padding
                writer.Write(chunk.Clip(0).Channels);
                yield return Update(TextToSpeechResponseUpdateKind.AudioUpdating, pending.Take());
            }
            writer.Finish();
        }
        yield return Update(TextToSpeechResponseUpdateKind.AudioUpdated, pending.Take());
        yield return Update(TextToSpeechResponseUpdateKind.SessionClose, null);
    }

    /// <inheritdoc />
    public object? GetService(Type serviceType, object? serviceKey = null)
    {
        ArgumentNullException.ThrowIfNull(serviceType);
        if (serviceKey is not null) return null;
        if (serviceType == typeof(TextToSpeechClientMetadata)) return _metadata;
        if (serviceType == typeof(MusicgenPipeline)) return _pipeline;
        return serviceType.IsInstanceOfType(this) ? this : null;
    }

    /// <summary>The plan of one piece for <paramref name="text"/> and the format to write, checked before any work.</summary>
    private (GenerationPlan Plan, AudioFormat Format) Prepare(string text, TextToSpeechOptions? options)
    {
        ArgumentNullException.ThrowIfNull(text);
        var format = Format(options?.AudioFormat);
        format.RequireEncoder("AudioFormat " + format.Name);
        var properties = options?.AdditionalProperties;
        if (properties?.Keys.FirstOrDefault(k => !Properties.All.Contains(k)) is { } unknown)
            throw new InvalidRequestException($"AdditionalProperties '{unknown}' is not a MusicGen setting (use {string.Join(", ", Properties.All)})");
        T? Get<T>(string key) where T : struct =>
            properties is null || !properties.ContainsKey(key) ? null
            : properties.TryGetValue(key, out T value) ? value
            : throw new InvalidRequestException($"AdditionalProperties '{key}' is not a {typeof(T).Name}");
        var request = MusicRequest.FromText(text) with
        {
            Duration = Get<double>(Properties.Duration),
            Seed = Get<ulong>(Properties.Seed),
            TopK = Get<int>(Properties.TopK),
            TopP = Get<double>(Properties.TopP),
            Temperature = Get<double>(Properties.Temperature),
            Guidance = Get<double>(Properties.Guidance),
            Greedy = Get<bool>(Properties.Greedy) ?? false,
        };
        return (_pipeline.Prepare(request), format);
    }

    /// <summary>The format an AudioFormat option names (a name such as flac, or a media type such as audio/flac); WAV when none.</summary>
    private static AudioFormat Format(string? name)
    {
        if (string.IsNullOrEmpty(name)) return AudioFormat.Wav;
        return AudioFormat.FromName(name)
            ?? AudioFormat.All.FirstOrDefault(f => f.MediaType.Equals(name, StringComparison.OrdinalIgnoreCase))
            ?? (name.Equals("audio/x-wav", StringComparison.OrdinalIgnoreCase) ? AudioFormat.Wav : null)
            ?? throw new InvalidRequestException($"AudioFormat '{name}' is not one this writes ({string.Join(", ", AudioFormat.All.Select(f => $"{f.Name} or {f.MediaType}"))})");
    }

    /// <summary>Frees the pipeline and the device when this client opened them.</summary>
    public void Dispose()
    {
        if (_ownsPipeline) _pipeline.Dispose();
        _ownedBackend?.Dispose();
    }
}
