using System.Runtime.CompilerServices;
using MusicGen.Engine.Audio;

namespace MusicGen.Server.Jobs;

/// <summary>
/// The audio of one piece as it is made: its length is known from the start (so a WAV header can be sent at
/// once), chunks are appended as the generator produces them, and readers receive them as they come.
/// </summary>
public sealed class PieceAudio(int sampleRate, int channels, int frames)
{
    private readonly List<AudioClip> _chunks = [];
    private readonly ChangeSignal _changed = new();
    private int _available;
    private string? _failure;
    private bool _complete;

    /// <summary>Samples per second.</summary>
    public int SampleRate { get; } = sampleRate;

    /// <summary>Channels.</summary>
    public int Channels { get; } = channels;

    /// <summary>Frames the piece will have in all.</summary>
    public int Frames { get; } = frames;

    /// <summary>Adds the next samples; more than <see cref="Frames"/> in all is a generator bug.</summary>
    public void Append(AudioClip chunk)
    {
        lock (_chunks)
        {
            if (chunk.ChannelCount != Channels || chunk.SampleRate != SampleRate || _available + chunk.Length > Frames)
                throw new InvalidOperationException(
                    $"the generator produced {chunk.ChannelCount} channel(s) at {chunk.SampleRate} Hz up to frame {_available + chunk.Length}; {Channels} at {SampleRate} Hz and {Frames} frames were announced");
            _chunks.Add(chunk);
            _available += chunk.Length;
            _complete = _available == Frames;
        }
        _changed.Notify();
    }

    /// <summary>Ends the piece without its remaining samples: readers stop with an error.</summary>
    public void Fail(string reason)
    {
        lock (_chunks)
            if (!_complete) _failure ??= reason;
        _changed.Notify();
    }

    /// <summary>The chunks in order as they arrive, until all <see cref="Frames"/> are read.</summary>
    /// <exception cref="IOException">The piece failed or was cancelled before it was complete.</exception>
    public async IAsyncEnumerable<AudioClip> ReadAsync([EnumeratorCancellation] CancellationToken cancellation)
    {
        for (int next = 0; ;)
        {
            Task changed = _changed.NextAsync(cancellation);
            AudioClip[] ready;
            bool complete;
            string? failure;
            lock (_chunks)
            {
                ready = _chunks.Skip(next).ToArray();
                complete = _complete;
                failure = _failure;
            }
            foreach (var chunk in ready) yield return chunk;
            next += ready.Length;
            if (complete && ready.Length == 0) yield break;
            if (complete) continue;
            if (failure is not null) throw new IOException(failure);
            if (ready.Length == 0) await changed;
        }
    }
}
