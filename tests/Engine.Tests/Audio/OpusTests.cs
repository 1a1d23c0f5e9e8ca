using MusicGen.Engine.Audio;
using MusicGen.Engine.Audio.Ogg;
using MusicGen.Tests.Support;

namespace MusicGen.Tests.Audio;

/// <summary>Opus in Ogg as written here: what ffprobe and ffmpeg make of it, and our reader.</summary>
public class OpusTests
{
    /// <summary>Two seconds of stereo music-like audio at the codec's rate: tones with some noise.</summary>
    private static AudioClip Music(int rate = 32000)
    {
        int length = 2 * rate;
        var noise = RandomData.Uniform(4, length, 0.05f);
        return new AudioClip(rate, [.. Enumerable.Range(0, 2).Select(c => Enumerable.Range(0, length)
            .Select(i => 0.4f * MathF.Sin(2 * MathF.PI * (220 + 110 * c) * i / rate) + 0.2f * MathF.Sin(2 * MathF.PI * 1250 * i / rate) + noise[i]).ToArray())]);
    }

    /// <summary>Signal-to-noise ratio of <paramref name="actual"/> against <paramref name="expected"/> in dB.</summary>
    internal static double Snr(float[] expected, ReadOnlySpan<float> actual)
    {
        double signal = 0, noise = 0;
        for (int i = 0; i < expected.Length; i++) (signal, noise) = (signal + (double)expected[i] * expected[i], noise + Math.Pow(expected[i] - actual[i], 2));
        return 10 * Math.Log10(signal / noise);
    }

    [SkippableFact]
    public void Ffmpeg_decodes_our_Opus_at_48_kHz_to_the_resampled_length_and_above_a_noise_floor()
    {
        Skip.If(ReferenceTool.Find("ffmpeg") is null, "ffmpeg is not installed");
        using var folder = new TempFolder();
        string path = folder.File("music.opus");
        var clip = Music();
        AudioFile.Write(path, clip);

        var (interleaved, rate, channels) = ReferenceTool.FfmpegDecode(path);

        var expected = Resampler.Resample(clip, 48000);
        Assert.Equal((48000, 2), (rate, channels));
        Assert.Equal(expected.Length * 2, interleaved.Length);
        for (int c = 0; c < 2; c++)
        {
            var channel = Enumerable.Range(0, expected.Length).Select(i => interleaved[i * 2 + c]).ToArray();
            double snr = Snr(expected.Channels[c], channel);
            Assert.True(snr > 15, $"channel {c}: {snr:0.0} dB");
        }
        Assert.Contains("codec_name=opus", ReferenceTool.Succeed("ffprobe", "-v", "error", "-show_entries", "stream=codec_name", path).Text);
    }

    [Fact]
    public void Streamed_in_chunks_it_decodes_to_the_same_audio_as_written_whole()
    {
        var clip = Music();
        var whole = new MemoryStream();
        AudioFormat.Opus.Write(whole, clip);
        var piped = new MemoryStream();
        using (var writer = AudioFormat.Opus.OpenWriter(new ForwardOnlyStream(piped), clip.SampleRate, 2))
        {
            for (int at = 0, size = 777; at < clip.Length; at += size, size = size * 7 % 9001 + 1)
                writer.Write([.. clip.Channels.Select(c => c[at..Math.Min(c.Length, at + size)])]);
            writer.Finish();
        }

        var fromWhole = OpusReader.Read(new MemoryStream(whole.ToArray()), "whole.opus", 60);
        var fromChunks = OpusReader.Read(new MemoryStream(piped.ToArray()), "piped.opus", 60);

        Assert.Equal(48000 * 2, fromWhole.Length);
        Assert.Equal(fromWhole.Channels, fromChunks.Channels);
        Assert.True(Snr(Resampler.Resample(clip, 48000).Channels[0], fromWhole.Channels[0]) > 15);
    }

    [Fact]
    public void More_than_two_channels_are_refused()
    {
        var error = Assert.Throws<MusicGenException>(() => AudioFormat.Opus.OpenWriter(new MemoryStream(), 48000, 3, displayName: "x.opus"));
        Assert.Equal("x.opus: Opus output holds mono or stereo, not 3 channels", error.Message);
    }
}
