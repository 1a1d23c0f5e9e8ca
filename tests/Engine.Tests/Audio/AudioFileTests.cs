using System.Diagnostics;
using MusicGen.Engine.Audio;
using MusicGen.Loaders;
using MusicGen.Tests.Support;

namespace MusicGen.Tests.Audio;

/// <summary>
/// Reading audio of any format: WAV, FLAC, MP3 and Ogg natively, the rest through ffmpeg. A decoder whose search
/// path is empty stands for a machine without ffmpeg; the tests that need ffmpeg (to make a file, or to decode
/// one) are skipped without it.
/// </summary>
public class AudioFileTests
{
    private static readonly FfmpegDecoder Installed = FfmpegDecoder.FromEnvironment();
    private static readonly FfmpegDecoder Missing = new(searchPath: "");

    /// <summary>Half a second of a different tone per channel.</summary>
    private static AudioClip Tones(int sampleRate, int channels) =>
        new(sampleRate, [.. Enumerable.Range(0, channels).Select(c => Enumerable.Range(0, sampleRate / 2)
            .Select(i => 0.5f * MathF.Sin(2 * MathF.PI * 440 * (c + 1) * i / sampleRate)).ToArray())]);

    [Fact]
    public void Reads_WAV_without_ffmpeg()
    {
        using var folder = new TempFolder();
        string path = folder.File("tones.WAV");
        AudioClip clip = Tones(22050, 2);
        WavFile.Write(path, clip, SampleFormat.Float32);

        AudioClip read = AudioFile.Read(path, Missing);

        Assert.Equal(22050, read.SampleRate);
        Assert.Equal(clip.Channels, read.Channels);
    }

    [Fact]
    public void Without_ffmpeg_a_format_not_read_here_asks_to_install_it_or_convert_to_WAV()
    {
        using var folder = new TempFolder();
        string path = folder.File("song.m4a");
        File.WriteAllBytes(path, [0x00, 0x00, 0x00, 0x20, .. "ftypM4A "u8]);

        var error = Assert.Throws<InputFileException>(() => AudioFile.Read(path, Missing));

        Assert.StartsWith(path + ": ", error.Message);
        Assert.Contains("M4A files need ffmpeg", error.Message);
        Assert.Contains("apt-get install ffmpeg", error.Message);
        Assert.Contains("https://ffmpeg.org", error.Message);
        Assert.Contains("convert the file to WAV", error.Message);
    }

    [Theory]
    [InlineData("missing.flac")]
    [InlineData("missing.wav")]
    public void A_missing_file_is_reported_as_not_found(string name)
    {
        using var folder = new TempFolder();
        string path = folder.File(name);

        var error = Assert.Throws<InputFileException>(() => AudioFile.Read(path, Installed));

        Assert.Equal($"{path}: file not found", error.Message);
    }

    [Fact]
    public void A_folder_is_not_an_audio_file()
    {
        using var folder = new TempFolder();

        var error = Assert.Throws<InputFileException>(() => AudioFile.Read(folder.Path, Installed));

        Assert.Contains("is a folder", error.Message);
    }

    [Fact]
    public void ReadAt_resamples_and_averages_stereo_to_mono()
    {
        using var folder = new TempFolder();
        string path = folder.File("stereo.wav");
        AudioClip clip = Tones(44100, 2);
        WavFile.Write(path, clip, SampleFormat.Float32);

        AudioClip mono = AudioFile.ReadAt(path, 32000, 1);

        Assert.Equal(32000, mono.SampleRate);
        Assert.Equal(Resampler.Resample(clip.ToMono().Channels[0], 44100, 32000), Assert.Single(mono.Channels));
    }

    [Fact]
    public void ReadAt_duplicates_mono_into_stereo()
    {
        using var folder = new TempFolder();
        string path = folder.File("mono.wav");
        AudioClip clip = Tones(16000, 1);
        WavFile.Write(path, clip, SampleFormat.Float32);

        AudioClip stereo = AudioFile.ReadAt(path, 32000, 2);

        float[] expected = Resampler.Resample(clip.Channels[0], 16000, 32000);
        Assert.Equal(32000, stereo.SampleRate);
        Assert.Equal([expected, expected], stereo.Channels);
    }

    [SkippableFact]
    public void Decodes_FLAC_from_ffmpeg_losslessly_without_ffmpeg()
    {
        Skip.If(Installed.Executable is null, "ffmpeg is not installed");
        using var folder = new TempFolder();
        (string flac, AudioClip source) = Encode(folder, Tones(22050, 2), "tones.flac");

        AudioClip read = AudioFile.Read(flac, Missing);

        Assert.Equal(22050, read.SampleRate);
        Assert.Equal(source.Channels, read.Channels);
    }

    /// <summary>
    /// MP3 is lossy, and ffmpeg's encoder also scales the level (by 0.95 here), so the decoded tones are compared
    /// by correlation (measured 0.99999) after checking that rate, channels and length, encoder delay and padding
    /// removed as the LAME tag states them, are kept.
    /// </summary>
    [SkippableFact]
    public void Decodes_MP3_without_ffmpeg_keeping_rate_channels_and_length()
    {
        Skip.If(Installed.Executable is null, "ffmpeg is not installed");
        using var folder = new TempFolder();
        (string mp3, AudioClip source) = Encode(folder, Tones(44100, 2), "tones.mp3");

        AudioClip read = AudioFile.Read(mp3, Missing);

        Assert.Equal(44100, read.SampleRate);
        Assert.Equal(2, read.ChannelCount);
        Assert.Equal(source.Length, read.Length);
        for (int c = 0; c < 2; c++)
        {
            double correlation = Correlation(source.Channels[c], read.Channels[c]);
            Assert.True(correlation > 0.999, $"channel {c}: correlation {correlation}");
        }
    }

    /// <summary>Ogg Vorbis and Ogg Opus as ffmpeg's libvorbis and libopus write them (Opus at its own 48 kHz), read natively.</summary>
    [SkippableTheory]
    [InlineData("tones.ogg", 44100)]
    [InlineData("tones.opus", 48000)]
    public void Decodes_Ogg_Vorbis_and_Opus_without_ffmpeg_keeping_rate_channels_and_length(string name, int rate)
    {
        Skip.If(Installed.Executable is null, "ffmpeg is not installed");
        using var folder = new TempFolder();
        (string path, AudioClip source) = Encode(folder, Tones(rate, 2), name);

        AudioClip read = AudioFile.Read(path, Missing);

        Assert.Equal(rate, read.SampleRate);
        Assert.Equal(2, read.ChannelCount);
        Assert.Equal(source.Length, read.Length);
        for (int c = 0; c < 2; c++)
        {
            double correlation = Correlation(source.Channels[c], read.Channels[c]);
            Assert.True(correlation > 0.99, $"channel {c}: correlation {correlation}");
        }
    }

    [SkippableFact]
    public void A_truncated_MP3_gives_the_audio_before_the_cut()
    {
        Skip.If(Installed.Executable is null, "ffmpeg is not installed");
        using var folder = new TempFolder();
        (string mp3, AudioClip source) = Encode(folder, Tones(44100, 2), "tones.mp3");
        string truncated = folder.File("truncated.mp3");
        File.WriteAllBytes(truncated, File.ReadAllBytes(mp3)[..3000]);

        AudioClip read = AudioFile.Read(truncated, Missing);

        Assert.Equal(2, read.ChannelCount);
        Assert.InRange(read.Length, 1, source.Length / 2);
    }

    [SkippableFact]
    public void A_corrupt_file_is_refused_with_ffmpegs_first_error_line()
    {
        Skip.If(Installed.Executable is null, "ffmpeg is not installed");
        using var folder = new TempFolder();
        string path = folder.File("noise.m4a");
        File.WriteAllBytes(path, RandomData.Uniform(5, 5000).Select(v => (byte)(v * 127 + 128)).ToArray());

        var error = Assert.Throws<InputFileException>(() => AudioFile.Read(path));

        Assert.StartsWith($"{path}: ffmpeg could not decode this M4A file: ", error.Message);
        string firstLine = RunFfmpeg("-nostdin", "-v", "error", "-i", path, "-f", "wav", "-").Errors.Split('\n')[0].Trim();
        Assert.Contains(firstLine[firstLine.IndexOf(']')..], error.Message);
        Assert.DoesNotContain("@ 0x", error.Message);
    }

    /// <summary>
    /// Writes <paramref name="clip"/> as a 16-bit WAV and has ffmpeg encode it to <paramref name="name"/>; returns that
    /// file and the WAV as read back (16-bit samples).
    /// </summary>
    private static (string Path, AudioClip Source) Encode(TempFolder folder, AudioClip clip, string name)
    {
        string wav = folder.File("source.wav"), encoded = folder.File(name);
        WavFile.Write(wav, clip, SampleFormat.Pcm16);
        var (exitCode, errors) = RunFfmpeg("-nostdin", "-v", "error", "-i", wav, encoded);
        Assert.True(exitCode == 0, $"ffmpeg could not make {name}: {errors}");
        return (encoded, WavFile.Read(wav));
    }

    private static double Correlation(float[] a, float[] b)
    {
        double ab = 0, aa = 0, bb = 0;
        for (int i = 0; i < a.Length; i++) (ab, aa, bb) = (ab + (double)a[i] * b[i], aa + (double)a[i] * a[i], bb + (double)b[i] * b[i]);
        return ab / Math.Sqrt(aa * bb);
    }

    private static (int ExitCode, string Errors) RunFfmpeg(params string[] arguments)
    {
        var start = new ProcessStartInfo(Installed.Executable!) { RedirectStandardOutput = true, RedirectStandardError = true };
        foreach (string argument in arguments) start.ArgumentList.Add(argument);
        using Process process = Process.Start(start)!;
        Task<string> errors = process.StandardError.ReadToEndAsync();
        process.StandardOutput.BaseStream.CopyTo(Stream.Null);
        process.WaitForExit();
        return (process.ExitCode, errors.Result);
    }
}
