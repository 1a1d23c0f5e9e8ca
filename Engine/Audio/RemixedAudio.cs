namespace MusicGen.Engine.Audio;

/// <summary>
/// A source with another channel count as it is read, as <see cref="AudioClip.WithChannels"/> converts a clip:
/// averaged down to mono, or mono duplicated to stereo. Disposing it disposes the source.
/// </summary>
public sealed class RemixedAudio(IAudioSource source, int channels) : IAudioSource
{
    /// <inheritdoc />
    public int SampleRate => source.SampleRate;

    /// <inheritdoc />
    public int ChannelCount => channels;

    /// <inheritdoc />
    public long Length => source.Length;

    /// <inheritdoc />
    public float[][] Read(long start, int count) => new AudioClip(SampleRate, source.Read(start, count)).WithChannels(channels).Channels;

    public void Dispose() => source.Dispose();
}
