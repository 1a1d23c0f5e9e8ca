namespace MusicGen.Engine.Audio;

/// <summary>
/// Writes audio of one format to a stream as it arrives, chunk by chunk (to a file, or to a pipe such as standard
/// output while a piece is generated). <see cref="Finish"/> writes what only the end can tell (a FLAC stream's
/// length and checksum where the stream can seek back, an Ogg stream's last page); a writer disposed unfinished
/// leaves its output incomplete, which the atomic file writer then discards.
/// </summary>
public abstract class AudioWriter : IDisposable
{
    protected AudioWriter(int sampleRate, int channels)
    {
        ArgumentOutOfRangeException.ThrowIfNegativeOrZero(sampleRate);
        ArgumentOutOfRangeException.ThrowIfNegativeOrZero(channels);
        SampleRate = sampleRate;
        Channels = channels;
    }

    /// <summary>The rate of the audio given to <see cref="Write"/> (a format may store another, as Opus stores 48 kHz).</summary>
    public int SampleRate { get; }

    public int Channels { get; }

    /// <summary>Frames (samples per channel) written so far.</summary>
    public long Frames { get; private set; }

    public bool IsFinished { get; private set; }

    /// <summary>Appends planar samples (one array per channel, all the same length), passing them on as far as the format allows.</summary>
    public void Write(float[][] channels)
    {
        ObjectDisposedException.ThrowIf(IsFinished, this);
        if (channels.Length != Channels)
            throw new ArgumentException($"{channels.Length} channels for a stream of {Channels}", nameof(channels));
        var chunk = new AudioClip(SampleRate, channels);
        if (chunk.Length == 0) return;
        WriteChunk(chunk);
        Frames += chunk.Length;
    }

    /// <summary>Ends the stream: encodes what is buffered and writes the format's end; the stream is flushed.</summary>
    public void Finish()
    {
        if (IsFinished) return;
        IsFinished = true;
        FinishStream();
    }

    protected abstract void WriteChunk(AudioClip chunk);

    protected abstract void FinishStream();

    public void Dispose()
    {
        Dispose(true);
        GC.SuppressFinalize(this);
    }

    protected virtual void Dispose(bool disposing) { }
}
