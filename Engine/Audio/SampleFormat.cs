namespace MusicGen.Engine.Audio;

/// <summary>
/// How samples are stored where a container has a choice: WAV takes all three, FLAC the integer ones
/// (<see cref="AudioFormat.SampleFormats"/> says which a format carries).
/// </summary>
public enum SampleFormat
{
    /// <summary>IEEE 32-bit float: lossless for the engine's output.</summary>
    Float32,

    /// <summary>16-bit integer PCM: half the size, playable everywhere.</summary>
    Pcm16,

    /// <summary>24-bit integer PCM: 144 dB of range, beyond what the codec's output holds.</summary>
    Pcm24,
}

/// <summary>What the sample formats are made of.</summary>
public static class SampleFormats
{
    /// <summary>Bits per stored sample.</summary>
    public static int Bits(this SampleFormat format) => format switch
    {
        SampleFormat.Float32 => 32,
        SampleFormat.Pcm16 => 16,
        SampleFormat.Pcm24 => 24,
        _ => throw new ArgumentOutOfRangeException(nameof(format), format, null),
    };

    /// <summary>The integer a float sample is stored as with <paramref name="bits"/> bits: clamped to [-1, 1], scaled by
    /// 2^(bits-1) − 1 and rounded to nearest, ties to even (readers divide by 2^(bits-1)). NaN becomes 0.</summary>
    public static int Quantize(float sample, int bits) =>
        float.IsNaN(sample) ? 0 : (int)Math.Round(Math.Clamp(sample, -1f, 1f) * (double)((1 << (bits - 1)) - 1));

    /// <summary>The float an integer sample of <paramref name="bits"/> bits stands for: divided by 2^(bits-1), as WAV readers do.</summary>
    public static float Dequantize(int sample, int bits) => sample * (1f / (1L << (bits - 1)));
}
