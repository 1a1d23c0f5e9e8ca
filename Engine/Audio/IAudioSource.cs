namespace MusicGen.Engine.Audio;

/// <summary>
/// Audio read a range at a time rather than held whole: a long recording on disk (<see cref="WavSource"/>), a
/// clip in memory (<see cref="AudioClip"/>), or either resampled on the fly (<see cref="ResampledAudio"/>).
/// Disposing a source closes what it reads from (for a clip, nothing).
/// </summary>
public interface IAudioSource : IDisposable
{
    /// <summary>Samples per second.</summary>
    int SampleRate { get; }

    /// <summary>Channels.</summary>
    int ChannelCount { get; }

    /// <summary>Samples per channel.</summary>
    long Length { get; }

    /// <summary>Samples [<paramref name="start"/>, start + count) of every channel, planar; the range must lie within <see cref="Length"/>.</summary>
    float[][] Read(long start, int count);
}
