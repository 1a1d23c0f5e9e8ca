namespace MusicGen.Engine.Audio;

/// <summary>
/// A source resampled to another rate as it is read, as <see cref="Resampler"/> resamples a whole signal
/// (torchaudio's defaults, the same numbers): each range of output reads the range of input its filter reaches.
/// </summary>
public sealed class ResampledAudio : IAudioSource
{
    private readonly IAudioSource _source;
    private readonly ResamplingKernel _kernel;

    /// <summary><paramref name="source"/> at <paramref name="sampleRate"/>; disposing this disposes the source.</summary>
    public ResampledAudio(IAudioSource source, int sampleRate)
    {
        _source = source;
        _kernel = new ResamplingKernel(source.SampleRate, sampleRate);
        SampleRate = sampleRate;
        Length = _kernel.OutputLength(source.Length);
    }

    /// <inheritdoc />
    public int SampleRate { get; }

    /// <inheritdoc />
    public int ChannelCount => _source.ChannelCount;

    /// <inheritdoc />
    public long Length { get; }

    /// <inheritdoc />
    public float[][] Read(long start, int count)
    {
        ArgumentOutOfRangeException.ThrowIfNegative(start);
        ArgumentOutOfRangeException.ThrowIfGreaterThan(start + count, Length);
        var (first, end) = Resampler.InputRange(_kernel, start, count);
        long from = Math.Clamp(first, 0, _source.Length), to = Math.Clamp(end, from, _source.Length);
        var input = _source.Read(from, checked((int)(to - from)));
        return Resampler.ResampleRange(input, from, _kernel, start, Enumerable.Repeat(count, input.Length).ToArray());
    }

    public void Dispose() => _source.Dispose();
}
