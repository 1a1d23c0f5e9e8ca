namespace MusicGen.Engine.Audio;

/// <summary>
/// A WAV stream written as the audio arrives. When the length is given beforehand the header states it; otherwise
/// it is the header ffmpeg writes to a pipe (sizes 0xFFFFFFFF), which ffplay, aplay, sox and ffmpeg read up to the
/// end of the stream, and on a stream that can seek <see cref="AudioWriter.Finish"/> goes back to fill in the sizes.
/// </summary>
public sealed class WavStreamWriter : AudioWriter
{
    private readonly Stream _stream;
    private readonly SampleFormat _format;
    private readonly long? _declaredFrames;
    private readonly long _start;

    /// <summary>Writes the header at once, so a player can open the stream before the first audio.</summary>
    public WavStreamWriter(Stream stream, int sampleRate, int channels, SampleFormat format, long? frames = null) : base(sampleRate, channels)
    {
        _stream = stream;
        _format = format;
        _declaredFrames = frames;
        _start = stream.CanSeek ? stream.Position : -1;
        WavWriter.WriteHeader(stream, channels, sampleRate, format, frames, "WAV stream");
        stream.Flush();
    }

    protected override void WriteChunk(AudioClip chunk)
    {
        WavWriter.WriteSamples(_stream, chunk, _format);
        _stream.Flush();
    }

    protected override void FinishStream()
    {
        if (_declaredFrames is { } declared && declared != Frames)
            throw new InvalidOperationException($"the WAV stream declared {declared} frames but {Frames} were written");
        if (_declaredFrames is null && _start >= 0)
        {
            long end = _stream.Position;
            _stream.Position = _start;
            WavWriter.WriteHeader(_stream, Channels, SampleRate, _format, Frames, "WAV stream", withFactChunk: false);
            _stream.Position = end;
        }
        _stream.Flush();
    }
}
