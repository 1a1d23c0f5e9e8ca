namespace MusicGen.Engine.Audio;

/// <summary>
/// A WAV stream of unknown length, written as the audio arrives (to a pipe such as standard output): the header
/// ffmpeg writes to a pipe (sizes 0xFFFFFFFF), then the samples of each chunk, flushed. ffplay, aplay, sox and
/// ffmpeg read it up to the end of the stream.
/// </summary>
public sealed class WavStreamWriter
{
    private readonly Stream _stream;
    private readonly WavSampleFormat _format;

    public int SampleRate { get; }
    public int Channels { get; }
    /// <summary>Frames written so far.</summary>
    public long Frames { get; private set; }

    /// <summary>Writes the header at once, so a player can open the stream before the first audio.</summary>
    public WavStreamWriter(Stream stream, int sampleRate, int channels, WavSampleFormat format)
    {
        _stream = stream;
        _format = format;
        SampleRate = sampleRate;
        Channels = channels;
        WavWriter.WriteHeader(stream, channels, sampleRate, format, frames: null, "WAV stream");
        stream.Flush();
    }

    /// <summary>Appends planar samples (one array per channel, all the same length) and flushes them.</summary>
    public void Write(float[][] channels)
    {
        if (channels.Length != Channels)
            throw new ArgumentException($"{channels.Length} channels for a stream of {Channels}", nameof(channels));
        var chunk = new AudioClip(SampleRate, channels);
        WavWriter.WriteSamples(_stream, chunk, _format);
        _stream.Flush();
        Frames += chunk.Length;
    }
}
