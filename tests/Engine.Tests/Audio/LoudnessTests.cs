using MusicGen.Engine.Audio;
using MusicGen.Tests.Support;

namespace MusicGen.Tests.Audio;

/// <summary>BS.1770-4 loudness and the normalization strategies, measured against ffmpeg's ebur128 filter.</summary>
public class LoudnessTests
{
    /// <summary>Music-like audio at a level that varies over time (so that gating matters), with a quiet stretch.</summary>
    private static AudioClip Music(int rate, int channels, float level, int seed)
    {
        int length = 6 * rate;
        var noise = RandomData.Uniform(seed, length, 0.3f);
        return new AudioClip(rate, [.. Enumerable.Range(0, channels).Select(c => Enumerable.Range(0, length).Select(i =>
        {
            float envelope = i < length / 3 ? 1f : i < length / 2 ? 0.001f : 0.5f;
            return level * envelope * (0.5f * MathF.Sin(2 * MathF.PI * (110 + 55 * c) * i / rate) + 0.3f * MathF.Sin(2 * MathF.PI * 3000 * i / rate) + noise[i]);
        }).ToArray())]);
    }

    [SkippableTheory]
    [InlineData(32000, 1, 0.05f)]
    [InlineData(32000, 2, 0.9f)]
    [InlineData(44100, 2, 0.2f)]
    [InlineData(48000, 1, 0.6f)]
    public void Measures_as_ffmpeg_ebur128_does(int rate, int channels, float level)
    {
        Skip.If(ReferenceTool.Find("ffmpeg") is null, "ffmpeg is not installed");
        using var folder = new TempFolder();
        string path = folder.File("music.wav");
        var clip = Music(rate, channels, level, seed: rate + channels);
        WavFile.Write(path, clip, SampleFormat.Float32);

        double ours = Loudness.Integrated(clip), theirs = ReferenceTool.Ebur128(path);

        // ffmpeg prints one decimal and resamples to 48 kHz first.
        Assert.True(Math.Abs(ours - theirs) <= 0.15, $"ours {ours:0.00} LUFS, ffmpeg {theirs:0.0} LUFS");
    }

    [SkippableTheory]
    [InlineData(".wav", 0.05f)]
    [InlineData(".wav", 0.9f)]
    [InlineData(".flac", 0.2f)]
    [InlineData(".opus", 0.2f)]
    public void Loudness_normalization_writes_minus_14_LUFS_as_ffmpeg_measures_it(string extension, float level)
    {
        Skip.If(ReferenceTool.Find("ffmpeg") is null, "ffmpeg is not installed");
        using var folder = new TempFolder();
        string path = folder.File("normalized" + extension);

        AudioFile.Write(path, Music(32000, 2, level, seed: 1), normalization: Normalization.Loudness);

        double measured = ReferenceTool.Ebur128(path);
        Assert.True(Math.Abs(measured - AudioNormalizer.LoudnessTarget) <= 0.5, $"{measured:0.0} LUFS");
    }

    [Fact]
    public void Loudness_never_pushes_a_sample_above_minus_1_dBFS()
    {
        // Mostly quiet with one loud click: −14 LUFS would need far more gain than the click allows.
        var samples = RandomData.Uniform(2, 64000, 0.01f);
        samples[30000] = 0.5f;
        var normalized = AudioNormalizer.Apply(new AudioClip(32000, [samples]), Normalization.Loudness);

        float peak = normalized.Channels[0].Max(Math.Abs);
        Assert.Equal(Math.Pow(10, -1 / 20.0), peak, 5);
        Assert.True(Loudness.Integrated(normalized) < AudioNormalizer.LoudnessTarget - 1);
    }

    [Fact]
    public void Peak_normalization_puts_the_highest_sample_at_minus_1_dBFS()
    {
        var clip = Music(32000, 2, 0.1f, seed: 3);
        var normalized = AudioNormalizer.Apply(clip, Normalization.Peak);
        Assert.Equal(Math.Pow(10, -1 / 20.0), normalized.Channels.Max(c => c.Max(Math.Abs)), 5);
    }

    [Fact]
    public void Silence_and_pieces_shorter_than_a_block_are_left_as_they_are()
    {
        var silence = new AudioClip(32000, [new float[64000]]);
        var click = new AudioClip(32000, [RandomData.Uniform(1, 3000, 0.5f)]); // 94 ms: no 400 ms block
        Assert.Same(silence, AudioNormalizer.Apply(silence, Normalization.Loudness));
        Assert.Same(click, AudioNormalizer.Apply(click, Normalization.Loudness));
        Assert.Equal(double.NegativeInfinity, Loudness.Integrated(click));
    }

    /// <summary>EBU Tech 3341's first case: a 1 kHz stereo sine at −23 dBFS measures −23 LUFS.</summary>
    [Fact]
    public void A_1_kHz_sine_at_minus_23_dBFS_measures_minus_23_LUFS()
    {
        float amplitude = MathF.Pow(10, -23 / 20f);
        var sine = Enumerable.Range(0, 20 * 48000).Select(i => amplitude * MathF.Sin(2 * MathF.PI * 1000 * i / 48000)).ToArray();
        Assert.Equal(-23, Loudness.Integrated(new AudioClip(48000, [sine, sine])), 1);
    }
}
