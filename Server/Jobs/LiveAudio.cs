using System.Threading.Channels;
using MusicGen.Engine.Audio;

namespace MusicGen.Server.Jobs;

/// <summary>
/// The audio of a stream without end, played to any number of listeners at once. A listener joins at the live
/// point (it hears the chunks appended after it joined) and has a bounded buffer of its own: one that falls more
/// than <see cref="BufferChunks"/> chunks behind is dropped (its chunks end with an error, so its connection is
/// closed and it may join again at the live point); the generator and the other listeners never wait for it.
/// </summary>
public sealed class LiveAudio(int sampleRate, int channels, int bufferChunks = LiveAudio.DefaultBufferChunks)
{
    /// <summary>Chunks a listener may fall behind before it is dropped: about 30 s of the pipeline's half-second chunks.</summary>
    public const int DefaultBufferChunks = 60;

    private readonly List<Channel<AudioClip>> _listeners = [];
    private long _frames;
    private bool _ended;
    private string? _failure;

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

    /// <summary>Hands the next chunk to every listener, dropping those whose buffer is full.</summary>
    public void Append(AudioClip chunk)
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
