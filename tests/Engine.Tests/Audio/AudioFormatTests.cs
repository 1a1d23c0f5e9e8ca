using MusicGen.Engine.Audio;
using MusicGen.Loaders;
using MusicGen.Tests.Support;

namespace MusicGen.Tests.Audio;

/// <summary>Writing by extension: what ffprobe and ffmpeg make of each format, and the formats' rules.</summary>
public class AudioFormatTests
{
    private static AudioClip Music(int channels)
    {
        int length = 3 * 32000;
        return new AudioClip(32000, [.. Enumerable.Range(0, channels).Select(c => Enumerable.Range(0, length)
            .Select(i => 0.5f * MathF.Sin(2 * MathF.PI * (330 + 110 * c) * i / 32000) + 0.1f * MathF.Sin(2 * MathF.PI * 2000 * i / 32000)).ToArray())]);
    }

    /// <summary>
    /// Every format ffmpeg reads back with the clip's channels and length (at Opus's 48 kHz for Opus; raw AAC has no
    /// length field, so its decoder adds the encoder's priming: 1024 samples and up to a frame of padding; from M4A
    /// ffmpeg cuts the priming but keeps the last frame's padding), and with the signal above a noise floor where the
    /// decoded audio lines up with ours.
    /// </summary>
    [SkippableTheory]
    [InlineData(".wav", 1)]
    [InlineData(".flac", 2)]
    [InlineData(".opus", 2)]
    [InlineData(".ogg", 1)]
    [InlineData(".mp3", 2)]
    [InlineData(".m4a", 1)]
    [InlineData(".aac", 2)]
    public void Ffmpeg_reads_each_format_with_its_channels_and_length(string extension, int channels)
    {
        Skip.If(ReferenceTool.Find("ffmpeg") is null, "ffmpeg is not installed");
        using var folder = new TempFolder();
        string path = folder.File("music" + extension);
        var clip = Music(channels);

        AudioFile.Write(path, clip);

        var (interleaved, rate, decodedChannels) = ReferenceTool.FfmpegDecode(path);
        var expected = extension is ".opus" or ".ogg" ? Resampler.Resample(clip, 48000) : clip;
        Assert.Equal(expected.SampleRate, rate);
        Assert.Equal(channels, decodedChannels);
        int length = interleaved.Length / channels;
        if (extension == ".aac")
        {
            Assert.InRange(length - expected.Length, 1024, 1024 + 1024);
            return;
        }
        if (extension == ".m4a") Assert.InRange(length - expected.Length, 0, 1023);
        else Assert.Equal(expected.Length, length);
        double snr = OpusTests.Snr(expected.Channels[0], Enumerable.Range(0, expected.Length).Select(i => interleaved[i * channels]).ToArray());
        Assert.True(snr > (extension is ".wav" or ".flac" ? 90 : 15), $"{extension}: {snr:0.0} dB");
    }

    [Theory]
    [InlineData("x.wav", "wav")]
    [InlineData("X.FLAC", "flac")]
    [InlineData("a.b.ogg", "opus")]
    [InlineData("x.opus", "opus")]
    [InlineData("x.m4a", "m4a")]
    public void The_extension_chooses_the_format(string path, string name) =>
        Assert.Equal(name, AudioFormat.FromPath(path).Name);

    [Fact]
    public void An_unknown_extension_is_refused_listing_the_known_ones()
    {
        var error = Assert.Throws<MusicGenException>(() => AudioFormat.FromPath("song.mid", "--out"));
        Assert.Equal("--out 'song.mid': the extension names no audio format this writes (.wav, .flac, .opus, .ogg, .mp3, .aac, .m4a)", error.Message);
    }

    [Theory]
    [InlineData("wav", null, SampleFormat.Float32)]
    [InlineData("wav", SampleFormat.Pcm24, SampleFormat.Pcm24)]
    [InlineData("flac", null, SampleFormat.Pcm24)]
    [InlineData("flac", SampleFormat.Pcm16, SampleFormat.Pcm16)]
    [InlineData("opus", null, null)]
    public void Sample_formats_map_to_what_the_container_holds(string name, SampleFormat? asked, SampleFormat? expected) =>
        Assert.Equal(expected, AudioFormat.FromName(name)!.ResolveSampleFormat(asked));

    [Fact]
    public void A_lossy_format_takes_no_sample_format()
    {
        var error = Assert.Throws<InvalidRequestException>(() => AudioFormat.Mp3.ResolveSampleFormat(SampleFormat.Pcm16));
        Assert.Equal("--format Pcm16: MP3 has no sample format to choose (its codec decides); leave --format out", error.Message);
    }

    [Fact]
    public void Pcm24_wav_round_trips_the_24_bit_integers()
    {
        var clip = new AudioClip(32000, [[0.5f, -1f, 1f, 1e-7f, -0.25f]]);
        var stream = new MemoryStream();
        AudioFormat.Wav.Write(stream, clip, SampleFormat.Pcm24);
        var read = WavFile.Read(new MemoryStream(stream.ToArray()), "x.wav");
        Assert.Equal(clip.Channels[0].Select(x => SampleFormats.Dequantize(SampleFormats.Quantize(x, 24), 24)), read.Channels[0]);
    }
}
