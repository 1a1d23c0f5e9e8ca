using MusicGen.Loaders;

namespace MusicGen.Engine.Audio;

/// <summary>Planar float audio, nominally in [-1, 1]: <c>Channels[c][i]</c> is sample i of channel c.</summary>
public sealed record AudioClip(int SampleRate, float[][] Channels) : IAudioSource
{
    public int SampleRate { get; } = SampleRate > 0
        ? SampleRate
        : throw new ArgumentOutOfRangeException(nameof(SampleRate), SampleRate, "the sample rate must be positive");

    public float[][] Channels { get; } = CheckChannels(Channels);

    public int ChannelCount => Channels.Length;

    /// <summary>Samples per channel.</summary>
    public int Length => Channels[0].Length;

    public double Seconds => (double)Length / SampleRate;

    long IAudioSource.Length => Length;

    /// <summary>A clip holds nothing to close.</summary>
    void IDisposable.Dispose() { }

    /// <summary>Samples [start, start + count) of every channel, copied.</summary>
    public float[][] Read(long start, int count)
    {
        ArgumentOutOfRangeException.ThrowIfNegative(start);
        ArgumentOutOfRangeException.ThrowIfGreaterThan(start + count, Length);
        return Channels.Select(channel => channel.AsSpan((int)start, count).ToArray()).ToArray();
    }

    /// <summary>The mean of the channels, summed in float then divided, as torch's <c>mean(dim=-2)</c> does for a mono codec.</summary>
    public AudioClip ToMono()
    {
        if (ChannelCount == 1) return this;
        var mono = new float[Length];
        for (int i = 0; i < mono.Length; i++)
        {
            float sum = 0;
            foreach (float[] channel in Channels) sum += channel[i];
            mono[i] = sum / ChannelCount;
        }
        return new AudioClip(SampleRate, [mono]);
    }

    /// <summary>Converts to <paramref name="channelCount"/> channels: down to mono by averaging, or mono up to stereo by duplication.</summary>
    public AudioClip WithChannels(int channelCount)
    {
        if (channelCount == ChannelCount) return this;
        if (channelCount == 1) return ToMono();
        if (channelCount == 2 && ChannelCount == 1)
            return new AudioClip(SampleRate, [Channels[0], (float[])Channels[0].Clone()]);
        throw new MusicGenException(
            $"cannot convert {ChannelCount}-channel audio to {channelCount} channels (only to mono, or from mono to stereo)");
    }

    /// <summary>
    /// The clip resampled to <paramref name="sampleRate"/> (torchaudio's defaults) with <paramref name="channelCount"/>
    /// channels: averaged down to mono, or mono duplicated to stereo.
    /// </summary>
    public AudioClip Convert(int sampleRate, int channelCount)
    {
        // Down-mixing first and duplicating last resamples as few channels as possible.
        var clip = ChannelCount > channelCount ? WithChannels(channelCount) : this;
        return Resampler.Resample(clip, sampleRate).WithChannels(channelCount);
    }

    private static float[][] CheckChannels(float[][] channels)
    {
        ArgumentNullException.ThrowIfNull(channels);
        if (channels.Length == 0) throw new ArgumentException("an audio clip needs at least one channel", nameof(channels));
        foreach (float[]? channel in channels)
        {
            if (channel is null) throw new ArgumentException("a channel is null", nameof(channels));
            if (channel.Length != channels[0].Length)
                throw new ArgumentException(
                    $"channels differ in length ({channel.Length} and {channels[0].Length} samples)", nameof(channels));
        }
        return channels;
    }
}
