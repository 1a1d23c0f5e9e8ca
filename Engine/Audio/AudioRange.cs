namespace MusicGen.Engine.Audio;

/// <summary>
/// Samples [<paramref name="start"/>, start + length) of a source, as a source of their own: a clip cut from a long
/// recording without reading the rest. Disposing it disposes the source.
/// </summary>
public sealed class AudioRange(IAudioSource source, long start, long length) : IAudioSource
{
    /// <inheritdoc />
    public int SampleRate => source.SampleRate;

    /// <inheritdoc />
    public int ChannelCount => source.ChannelCount;

    /// <inheritdoc />
    public long Length { get; } = start >= 0 && length >= 0 && start + length <= source.Length
        ? length
        : throw new ArgumentOutOfRangeException(nameof(length), $"samples [{start}, {start + length}) of {source.Length}");

    /// <inheritdoc />
    public float[][] Read(long first, int count)
    {
        ArgumentOutOfRangeException.ThrowIfNegative(first);
        ArgumentOutOfRangeException.ThrowIfGreaterThan(first + count, Length);
        return source.Read(start + first, count);
    }

    public void Dispose() => source.Dispose();
}
