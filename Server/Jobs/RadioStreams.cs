using System.Collections.Concurrent;
using Microsoft.Extensions.Logging;
using MusicGen.Server.Generation;

namespace MusicGen.Server.Jobs;

/// <summary>
/// The server's streams, by id: at most <see cref="ServerOptions.MaxStreams"/> playing or waiting at once, each a
/// job in the generator's queue that holds the generator from its start until it is stopped (by a client, by the
/// server's shutdown, or here when nobody has listened for <see cref="ServerOptions.StreamIdleTimeout"/>). Stopped
/// streams stay known (with why they stopped) until deleted; of those, only the newest <c>KeepFinished</c>.
/// </summary>
public sealed class RadioStreams : IDisposable
{
    private readonly ConcurrentDictionary<string, RadioStream> _streams = new(StringComparer.Ordinal);
    private readonly Queue<RadioStream> _stopped = new();
    private readonly GenerationScheduler _scheduler;
    private readonly ServerOptions _options;
    private readonly TimeProvider _clock;
    private readonly ILogger<RadioStreams> _log;
    private readonly ITimer _idleCheck;

    /// <summary>Streams over the scheduler; every second (of <paramref name="clock"/>) it stops those nobody listens to.</summary>
    public RadioStreams(GenerationScheduler scheduler, ServerOptions options, TimeProvider clock, ILogger<RadioStreams> log)
    {
        (_scheduler, _options, _clock, _log) = (scheduler, options, clock, log);
        _idleCheck = clock.CreateTimer(_ => StopIdle(), null, TimeSpan.FromSeconds(1), TimeSpan.FromSeconds(1));
    }

    /// <summary>Streams playing or waiting for the generator.</summary>
    public int Active => _streams.Values.Count(s => !s.Job.IsFinished);

    /// <summary>Listeners of every stream.</summary>
    public int Listeners => _streams.Values.Sum(s => s.Audio.Listeners);

    /// <summary>The stream with this id, if it is known.</summary>
    public RadioStream? Find(string id) => _streams.GetValueOrDefault(id);

    /// <summary>Starts a stream of checked parameters (queued behind the generator's work), unless the streams, the queue or the server refuse it.</summary>
    public (Admission Admission, RadioStream? Stream) Start(GenerationParameters parameters, ModelInfo model)
    {
        lock (_streams)
        {
            if (Active >= _options.MaxStreams) return (Admission.TooManyStreams, null);
            var stream = new RadioStream(Guid.NewGuid().ToString("N"), parameters, model, _clock, _options.StreamLead);
            var admission = _scheduler.Submit(stream.Job);
            if (admission != Admission.Queued) return (admission, null);
            _streams[stream.Id] = stream;
            return (admission, stream);
        }
    }

    /// <summary>Stops a stream (its listeners' audio ends cleanly) and forgets it.</summary>
    public void Delete(RadioStream stream)
    {
        _scheduler.Cancel(stream.Job);
        _streams.TryRemove(stream.Id, out _);
    }

    /// <summary>
    /// Stops every stream that has had no listener for the idle timeout, by the clock: run every second, and by
    /// tests with a clock of their own. Also forgets the oldest stopped streams beyond the ones kept.
    /// </summary>
    public void StopIdle()
    {
        var now = _clock.GetUtcNow();
        foreach (var stream in _streams.Values)
        {
            if (stream.Job.IsFinished || stream.NobodySince is not { } since || now - since < _options.StreamIdleTimeout) continue;
            stream.StopReason = $"stopped: no listener for {_options.StreamIdleTimeout.TotalSeconds:0.#} s";
            _scheduler.Cancel(stream.Job);
            _log.LogInformation("stream {Id} stopped: no listener for {Seconds} s", stream.Id, _options.StreamIdleTimeout.TotalSeconds);
        }
        lock (_stopped)
        {
            foreach (var stream in _streams.Values.Where(s => s.Job.IsFinished && !_stopped.Contains(s))) _stopped.Enqueue(stream);
            while (_stopped.Count > _options.KeepFinished) _streams.TryRemove(_stopped.Dequeue().Id, out _);
        }
    }

    /// <inheritdoc />
    public void Dispose() => _idleCheck.Dispose();
}
