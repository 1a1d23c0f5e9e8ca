using MusicGen.Engine.Tensors;
using MusicGen.Loaders;

namespace MusicGen.Engine.Audio;

/// <summary>
/// A WAV file read a range at a time: its header is checked when it is opened, its samples when they are read, so
/// a recording of any length is coded with memory bounded by the range asked for. NaN or infinity in the samples
/// is an error naming the file and the position.
/// </summary>
public sealed class WavSource : IAudioSource
{
    private readonly FileStream _stream;
    private readonly WavLayout _layout;

    private WavSource(string path, FileStream stream, WavLayout layout)
    {
        Path = path;
        _stream = stream;
        _layout = layout;
    }

    /// <summary>The file's name, as errors give it.</summary>
    public string Path { get; }

    /// <inheritdoc />
    public int SampleRate => _layout.Format.SampleRate;

    /// <inheritdoc />
    public int ChannelCount => _layout.Format.ChannelCount;

    /// <inheritdoc />
    public long Length => _layout.FrameCount;

    /// <summary>Opens a regular WAV file and reads its header; any problem is an <see cref="InputFileException"/> naming the file.</summary>
    public static WavSource Open(string path) => MusicGenException.Refine(() =>
    {
        var stream = InputFile.OpenRead(path, FileOptions.SequentialScan);
        try
        {
            var source = new WavSource(path, stream, WavLayout.Locate(stream, path));
            if (source.SampleRate < AudioFile.MinSampleRate)
                throw new MusicGenException($"{path}: the audio is at {source.SampleRate} Hz; audio below {AudioFile.MinSampleRate} Hz is not supported");
            return source;
        }
        catch
        {
            stream.Dispose();
            throw;
        }
    }, e => new InputFileException(e.Message, e));

    /// <inheritdoc />
    public float[][] Read(long start, int count) => MusicGenException.Refine(() =>
    {
        var channels = new float[ChannelCount][];
        for (int c = 0; c < channels.Length; c++) channels[c] = new float[count];
        try
        {
            WavReader.ReadRange(_stream, _layout, start, channels, count);
        }
        catch (IOException e)
        {
            throw new MusicGenException($"{Path}: read failed: {e.Message}", e);
        }
        foreach (var channel in channels) FiniteCheck.Require(channel, $"{Path}: the audio", start, Length);
        return channels;
    }, e => new InputFileException(e.Message, e));

    public void Dispose() => _stream.Dispose();
}
