using MusicGen.Loaders;

namespace MusicGen.Engine.Audio;

/// <summary>
/// Planar float audio collected by a decoder as it decodes, under the limits every reader applies: at most
/// <c>maxSeconds</c> of audio and <see cref="AudioFile.MaxSamples"/> samples. A length the file claims is checked
/// before anything is allocated, but never trusted for the allocation: the buffers grow with what is decoded.
/// </summary>
internal sealed class PcmAccumulator
{
    private readonly string _displayName;
    private readonly double _maxSeconds;
    private readonly long _maxFrames;
    private float[][] _channels;

    public int SampleRate { get; }
    public int ChannelCount { get; }
    public int Length { get; private set; }

    public PcmAccumulator(string displayName, int sampleRate, int channels, double maxSeconds, long? claimedFrames = null)
    {
        if (sampleRate < AudioFile.MinSampleRate)
            throw new MusicGenException($"{displayName}: the audio is at {sampleRate} Hz; audio below {AudioFile.MinSampleRate} Hz is not supported");
        (_displayName, _maxSeconds, SampleRate, ChannelCount) = (displayName, maxSeconds, sampleRate, channels);
        _maxFrames = Math.Min((long)Math.Floor(maxSeconds * sampleRate), AudioFile.MaxSamples / channels);
        if (claimedFrames is { } claimed) Check(claimed);
        int initial = (int)Math.Min(Math.Min(claimedFrames ?? sampleRate, _maxFrames), 1 << 20);
        _channels = Enumerable.Range(0, channels).Select(_ => new float[Math.Max(initial, 1)]).ToArray();
    }

    /// <summary>Room for <paramref name="frames"/> more frames: the span of each channel to fill, then <see cref="Commit"/>.</summary>
    public Span<float> Reserve(int channel, int frames)
    {
        Grow(frames);
        return _channels[channel].AsSpan(Length, frames);
    }

    /// <summary>Counts <paramref name="frames"/> reserved frames as written.</summary>
    public void Commit(int frames) => Length += frames;

    /// <summary>Appends <paramref name="frames"/> frames of interleaved samples.</summary>
    public void AppendInterleaved(ReadOnlySpan<float> interleaved, int frames)
    {
        Grow(frames);
        int channels = ChannelCount;
        for (int c = 0; c < channels; c++)
        {
            Span<float> target = _channels[c].AsSpan(Length, frames);
            for (int i = 0; i < frames; i++) target[i] = interleaved[i * channels + c];
        }
        Length += frames;
    }

    public AudioClip ToClip() =>
        new(SampleRate, _channels.Select(c => c.Length == Length ? c : c.AsSpan(0, Length).ToArray()).ToArray());

    private void Grow(int frames)
    {
        long needed = (long)Length + frames;
        Check(needed);
        if (needed <= _channels[0].Length) return;
        int capacity = (int)Math.Min(Math.Max(needed, (long)_channels[0].Length * 2), _maxFrames);
        for (int c = 0; c < _channels.Length; c++) Array.Resize(ref _channels[c], capacity);
    }

    private void Check(long frames)
    {
        double seconds = (double)frames / SampleRate;
        if (seconds > _maxSeconds) throw AudioFile.TooLong(_displayName, seconds, _maxSeconds);
        if (frames > _maxFrames)
            throw new MusicGenException(
                $"{_displayName}: {frames} samples × {ChannelCount} channels are more than an audio clip can hold ({AudioFile.MaxSamples} samples)");
    }
}
