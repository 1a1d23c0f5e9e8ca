using MusicGen.Engine;
using MusicGen.Server.Generation;

namespace MusicGen.Server.Jobs;

/// <summary>
/// A stream without end (<c>/v1/streams</c>): its job in the generator's queue, the text its next window takes,
/// and its audio played to its listeners. It notes since when nobody listens, so that an idle one can be stopped.
/// </summary>
public sealed class RadioStream
{
    private readonly TimeProvider _clock;
    private readonly Lock _lock = new();
    private DateTimeOffset? _nobodySince;
    private string? _stopReason;

    /// <summary>
    /// A stream of checked parameters (a request with a <see cref="MusicRequest.LivePrompt"/> and without end), not yet
    /// queued, generated at most <paramref name="lead"/> ahead of real time.
    /// </summary>
    public RadioStream(string id, GenerationParameters parameters, ModelInfo model, TimeProvider clock, TimeSpan lead)
    {
        _clock = clock;
        Prompt = parameters.Request.LivePrompt ?? throw new ArgumentException("a stream's request has a live prompt", nameof(parameters));
        Audio = new LiveAudio(model.SampleRate, model.Channels, clock, lead);
        Job = new GenerationJob(id, parameters, model, Audio);
        _nobodySince = clock.GetUtcNow();
        Audio.ListenersChanged += listeners =>
        {
            lock (_lock) _nobodySince = listeners == 0 ? _clock.GetUtcNow() : null;
        };
    }

    /// <summary>The id clients name it by (random, not guessable).</summary>
    public string Id => Job.Id;

    /// <summary>Its generation: queued until the generator is free, then running until it is stopped.</summary>
    public GenerationJob Job { get; }

    /// <summary>The text the next window takes.</summary>
    public LivePrompt Prompt { get; }

    /// <summary>Its audio and listeners.</summary>
    public LiveAudio Audio { get; }

    /// <summary>Since when it has had no listener (from its creation until the first joins), or null while someone listens.</summary>
    public DateTimeOffset? NobodySince
    {
        get { lock (_lock) return _nobodySince; }
    }

    /// <summary>Why it stopped, when the server stopped it (no listener for a while) rather than a client.</summary>
    public string? StopReason
    {
        get { lock (_lock) return _stopReason; }
        set { lock (_lock) _stopReason ??= value; }
    }

    /// <summary>Seconds of audio played so far.</summary>
    public double Seconds => (double)Audio.Frames / Audio.SampleRate;

    /// <summary>Windows begun so far: the first, then one every extend stride (each of the same steps as the second).</summary>
    public int Windows
    {
        get
        {
            var windows = Job.Parameters.Plan.Windows;
            int step = Job.Step, first = windows[0].Steps, next = windows[1].Steps;
            return step == 0 ? 0 : step <= first ? 1 : 1 + (step - first + next - 1) / next;
        }
    }
}
