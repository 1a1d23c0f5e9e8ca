using System.Buffers;
using MusicGen.Loaders;

namespace MusicGen.Engine.Audio;

/// <summary>Reads the samples a <see cref="WavLayout"/> locates, a block of frames at a time.</summary>
public static class WavReader
{
    private const int BlockBytes = 1 << 20;

    /// <summary>
    /// Reads a whole WAV file from the seekable <paramref name="stream"/>, starting at its current position; a file
    /// longer than <paramref name="maxSeconds"/> or with more samples than can be held is refused from its header.
    /// </summary>
    public static AudioClip Read(Stream stream, string displayName, double maxSeconds)
    {
        WavLayout layout = WavLayout.Locate(stream, displayName);
        WavFormat format = layout.Format;
        double seconds = (double)layout.FrameCount / format.SampleRate;
        if (seconds > maxSeconds) throw AudioFile.TooLong(displayName, seconds, maxSeconds);
        if (layout.FrameCount * format.ChannelCount > AudioFile.MaxSamples)
            throw new MusicGenException(
                $"{displayName}: {layout.FrameCount} samples × {format.ChannelCount} channels are more than an audio clip can hold ({AudioFile.MaxSamples} samples)");
        int frameCount = (int)layout.FrameCount;

        var channels = new float[format.ChannelCount][];
        for (int c = 0; c < channels.Length; c++) channels[c] = new float[frameCount];
        ReadRange(stream, layout, 0, channels, frameCount);
        return new AudioClip(format.SampleRate, channels);
    }

    /// <summary>
    /// Frames [<paramref name="firstFrame"/>, firstFrame + count) of the data chunk <paramref name="layout"/> locates
    /// into the start of <paramref name="channels"/>, a block at a time.
    /// </summary>
    public static void ReadRange(Stream stream, WavLayout layout, long firstFrame, float[][] channels, int count)
    {
        WavFormat format = layout.Format;
        if (firstFrame < 0 || firstFrame + count > layout.FrameCount)
            throw new ArgumentOutOfRangeException(nameof(firstFrame), $"frames [{firstFrame}, {firstFrame + count}) of {layout.FrameCount}");
        int framesPerBlock = Math.Max(1, BlockBytes / format.BlockAlign);
        byte[] buffer = ArrayPool<byte>.Shared.Rent(Math.Min(framesPerBlock, Math.Max(1, count)) * format.BlockAlign);
        try
        {
            stream.Position = layout.DataOffset + firstFrame * format.BlockAlign;
            for (int done = 0; done < count; done += framesPerBlock)
            {
                Span<byte> block = buffer.AsSpan(0, Math.Min(framesPerBlock, count - done) * format.BlockAlign);
                stream.ReadExactly(block);
                WavSampleDecoder.Decode(block, format, channels, done);
            }
        }
        finally
        {
            ArrayPool<byte>.Shared.Return(buffer);
        }
    }
}
