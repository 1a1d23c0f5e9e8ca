using System.Threading.Channels;
using MusicGen.Engine.Audio;

namespace MusicGen.Server.Jobs;

/// <summary>
/// The audio of a stream without end, played at real time to any number of listeners at once. The generator runs at
/// most <paramref name="lead"/> ahead of real time (counted from the first chunk, by <paramref name="clock"/>), so a
/// listener that plays as it hears keeps up. A listener joins at the live point (it hears the chunks appended after
/// it joined) and has a bounded buffer of its own: one that falls more than <see cref="BufferChunks"/> chunks
/// behind is dropped (its chunks end with an error, so its connection is closed and it may join again at the live
/// point); the generator and the other listeners never wait for it.
/// </summary>
public sealed class LiveAudio(int sampleRate, int channels, TimeProvider clock, TimeSpan lead, int bufferChunks = LiveAudio.DefaultBufferChunks)
{
    /// <summary>Chunks a listener may fall behind before it is dropped: about 30 s of the pipeline's half-second chunks.</summary>
    public const int DefaultBufferChunks = 60;

    private readonly List<Channel<AudioClip>> _listeners = [];
    private long _frames;
    private bool _ended;
    private string? _failure;
    private DateTimeOffset? _firstChunk;

    /// <summary>Samples per second.</summary>
    public int SampleRate { get; } = sampleRate;

    /// <summary>Channels.</summary>
    public int Channels { get; } = channels;

    /// <summary>Chunks a listener may fall behind before it is dropped.</summary>
    public int BufferChunks { get; } = bufferChunks;

    /// <summary>Frames appended so far.</summary>
    public long Frames => Interlocked.Read(ref _frames);

    /// <summary>Listeners now.</summary>
    public int Listeners
    {
        get { lock (_listeners) return _listeners.Count; }
    }

    /// <summary>Fires when a listener joins or leaves.</summary>
    public event Action<int>? ListenersChanged;

    /// <summary>Fires on the generator's thread when it waits for real time to catch up.</summary>
    public event Action? Paced;

    /// <summary>
    /// Hands the next chunk to every listener, dropping those whose buffer is full; then, on the generator's thread,
    /// waits while the audio is more than the lead ahead of real time (until <paramref name="cancellation"/> fires).
    /// </summary>
    public void Append(AudioClip chunk, CancellationToken cancellation)
    {
        if (chunk.ChannelCount != Channels || chunk.SampleRate != SampleRate)
            throw new InvalidOperationException($"the generator produced {chunk.ChannelCount} channel(s) at {chunk.SampleRate} Hz; {Channels} at {SampleRate} Hz were announced");
        Interlocked.Add(ref _frames, chunk.Length);
        List<Channel<AudioClip>> dropped = [];
        lock (_listeners)
            foreach (var listener in _listeners)
                if (!listener.Writer.TryWrite(chunk)) dropped.Add(listener);
        foreach (var listener in dropped)
        {
            listener.Writer.TryComplete(new IOException($"the listener fell more than {BufferChunks} chunks behind the stream and was dropped; join again at the live point"));
            Leave(listener);
        }
        Pace(cancellation);
    }

    private void Pace(CancellationToken cancellation)
    {
        var start = _firstChunk ??= clock.GetUtcNow();
        for (bool waited = false; ; waited = true)
        {
            var ahead = TimeSpan.FromSeconds((double)Frames / SampleRate) - (clock.GetUtcNow() - start) - lead;
            if (ahead <= TimeSpan.Zero) return;
            if (!waited) Paced?.Invoke();
            // At most a second at a time, so that a clock set forward (a test's) is seen.
            cancellation.WaitHandle.WaitOne(ahead < TimeSpan.FromSeconds(1) ? ahead : TimeSpan.FromSeconds(1));
            cancellation.ThrowIfCancellationRequested();
        }
    }

    /// <summary>Ends the stream: every listener's chunks end, cleanly, or with <paramref name="failure"/>.</summary>
    public void End(string? failure = null)
    {
        Channel<AudioClip>[] listeners;
        lock (_listeners)
        {
            if (_ended) return;
            (_ended, _failure) = (true, failure);
            listeners = [.. _listeners];
        }
        foreach (var listener in listeners) listener.Writer.TryComplete(failure is null ? null : new IOException(failure));
    }

    /// <summary>
    /// A new listener, counted from now until it is disposed: it hears the chunks appended from now on, until the
    /// stream ends (cleanly: its chunks end) or fails or drops it (an <see cref="IOException"/>).
    /// </summary>
    public Listener Join()
    {
        var chunks = Channel.CreateBounded<AudioClip>(new BoundedChannelOptions(BufferChunks) { SingleReader = true, SingleWriter = true });
        int count;
        lock (_listeners)
        {
            if (_ended) chunks.Writer.TryComplete(_failure is null ? null : new IOException(_failure));
            _listeners.Add(chunks);
            count = _listeners.Count;
        }
        ListenersChanged?.Invoke(count);
        return new Listener(this, chunks);
    }

    /// <summary>One listener of a <see cref="LiveAudio"/>; disposing it leaves.</summary>
    public sealed class Listener : IDisposable
    {
        private readonly LiveAudio _audio;
        private readonly Channel<AudioClip> _chunks;

        internal Listener(LiveAudio audio, Channel<AudioClip> chunks) => (_audio, _chunks) = (audio, chunks);

        /// <summary>The chunks as they come; see <see cref="Join"/>.</summary>
        public IAsyncEnumerable<AudioClip> ReadAllAsync(CancellationToken cancellation) => _chunks.Reader.ReadAllAsync(cancellation);

        /// <summary>Leaves the stream.</summary>
        public void Dispose() => _audio.Leave(_chunks);
    }

    private void Leave(Channel<AudioClip> listener)
    {
        int count;
        lock (_listeners)
        {
            if (!_listeners.Remove(listener)) return;
            count = _listeners.Count;
        }
        ListenersChanged?.Invoke(count);
    }
}
