namespace MusicGen.Engine.Audio;

/// <summary>How audio is scaled before it is written: audiocraft's <c>audio_write</c> strategies.</summary>
public enum Normalization
{
    /// <summary>As generated.</summary>
    None,

    /// <summary>The highest sample at −1 dBFS (audiocraft's <c>peak</c>, <c>peak_clip_headroom_db=1</c>).</summary>
    Peak,

    /// <summary>
    /// −14 LUFS integrated loudness (audiocraft's <c>loudness</c>, <c>loudness_headroom_db=14</c>), but never a
    /// sample above −1 dBFS: where −14 LUFS would need more, the gain stops there (no clipping).
    /// </summary>
    Loudness,
}

/// <summary>Applies a <see cref="Normalization"/> to a whole clip (it needs all of it: a stream cannot be normalized).</summary>
public static class AudioNormalizer
{
    /// <summary>The integrated loudness <see cref="Normalization.Loudness"/> aims at, in LUFS.</summary>
    public const double LoudnessTarget = -14;

    /// <summary>The highest sample level <see cref="Normalization.Peak"/> sets and <see cref="Normalization.Loudness"/> never exceeds, in dBFS.</summary>
    public const double PeakTarget = -1;

    /// <summary>
    /// Below this RMS (about −54 dBFS) a clip is taken as silence and left as it is, as audiocraft's
    /// <c>normalize_loudness</c> does with its energy floor: scaling would only raise noise.
    /// </summary>
    public const double EnergyFloor = 2e-3;

    /// <summary>The clip scaled as <paramref name="normalization"/> asks (the same clip when nothing changes).</summary>
    public static AudioClip Apply(AudioClip clip, Normalization normalization)
    {
        double gain = Gain(clip, normalization);
        if (gain == 1) return clip;
        float factor = (float)gain;
        return new AudioClip(clip.SampleRate, clip.Channels.Select(c =>
        {
            var scaled = new float[c.Length];
            System.Numerics.Tensors.TensorPrimitives.Multiply(c, factor, scaled);
            return scaled;
        }).ToArray());
    }

    /// <summary>The factor <see cref="Apply"/> multiplies every sample by.</summary>
    public static double Gain(AudioClip clip, Normalization normalization)
    {
        if (normalization == Normalization.None) return 1;
        double peak = clip.Channels.Max(c => c.Length == 0 ? 0 : Math.Abs(System.Numerics.Tensors.TensorPrimitives.MaxMagnitude(c)));
        double ceiling = Math.Pow(10, PeakTarget / 20);
        if (normalization == Normalization.Peak) return peak > 0 ? ceiling / peak : 1;
        if (Rms(clip) < EnergyFloor) return 1;
        double loudness = Loudness.Integrated(clip);
        if (double.IsNegativeInfinity(loudness)) return 1;
        double gain = Math.Pow(10, (LoudnessTarget - loudness) / 20);
        return Math.Min(gain, ceiling / peak);
    }

    private static double Rms(AudioClip clip)
    {
        double sum = 0;
        foreach (float[] channel in clip.Channels)
            foreach (float x in channel) sum += (double)x * x;
        return Math.Sqrt(sum / Math.Max(1, (long)clip.ChannelCount * clip.Length));
    }
}
