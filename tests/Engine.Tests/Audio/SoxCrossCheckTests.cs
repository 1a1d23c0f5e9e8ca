using System.Buffers.Binary;
using System.Diagnostics;
using MusicGen.Engine.Audio;

namespace MusicGen.Tests.Audio;

/// <summary>Cross-checks against sox, when it is installed: files sox makes read as sox decodes them, and sox reads ours.</summary>
public class SoxCrossCheckTests
{
    private const int SampleRate = 32000;
    private const int Frames = 1600; // 0.05 s

    /// <summary>A different signal per channel, so a channel mix-up shows.</summary>
    private static readonly string[] ChannelSignals = ["sine 300", "sine 500", "whitenoise", "square 200"];

    /// <summary>
    /// sox decodes to float through 24-bit fixed point (it rounds its 32-bit samples with <c>(x + 64) &amp; ~127</c>),
    /// so formats finer than 24 bits agree only to within its step.
    /// </summary>
    private const float SoxFloatStep = 1f / (1 << 24);

    private static readonly string? Sox = FindSox();

    [SkippableTheory]
    [InlineData("unsigned-integer", 8, 1)]
    [InlineData("signed-integer", 16, 2)]
    [InlineData("signed-integer", 16, 4)] // sox writes WAVE_FORMAT_EXTENSIBLE for more than two channels
    [InlineData("signed-integer", 24, 2)]
    [InlineData("signed-integer", 32, 1)]
    [InlineData("floating-point", 32, 2)]
    [InlineData("floating-point", 64, 1)]
    public void Files_made_by_sox_read_as_sox_decodes_them(string encoding, int bits, int channels)
    {
        Skip.If(Sox is null, "sox is not installed");
        using var folder = new TempFolder();
        string path = folder.File("sox.wav");
        RunSox(["-n", "-r", $"{SampleRate}", "-c", $"{channels}", "-e", encoding, "-b", $"{bits}", path,
            "synth", "0.05", .. ChannelSignals.Take(channels).SelectMany(signal => signal.Split(' ')), "vol", "0.9"]);

        AudioClip clip = WavFile.Read(path);

        Assert.Equal(SampleRate, clip.SampleRate);
        Assert.Equal(channels, clip.ChannelCount);
        Assert.Equal(Frames, clip.Length);
        AssertSame(SoxDecode(path, channels), clip, tolerance: bits > 24 ? SoxFloatStep : 0f);
    }

    [SkippableTheory]
    [InlineData(SampleFormat.Float32)]
    [InlineData(SampleFormat.Pcm16)]
    public void Sox_reads_the_files_we_write_as_we_do(SampleFormat format)
    {
        Skip.If(Sox is null, "sox is not installed");
        using var folder = new TempFolder();
        string path = folder.File("ours.wav");
        var random = new Random(7);
        float[][] samples =
            [.. Enumerable.Range(0, 2).Select(_ => Enumerable.Range(0, Frames).Select(_ => random.NextSingle() * 1.8f - 0.9f).ToArray())];
        WavFile.Write(path, new AudioClip(SampleRate, samples), format);

        AssertSame(SoxDecode(path, 2), WavFile.Read(path), tolerance: format == SampleFormat.Float32 ? SoxFloatStep : 0f);
    }

    [SkippableFact]
    public void Reads_what_sox_writes_to_a_pipe()
    {
        Skip.If(Sox is null, "sox is not installed");

        byte[] piped = RunSox(["-n", "-r", $"{SampleRate}", "-c", "2", "-b", "16", "-t", "wav", "-",
            "synth", "0.05", "sine", "300", "sine", "500"]);

        Assert.Equal(0x7FFFF000u, BinaryPrimitives.ReadUInt32LittleEndian(piped.AsSpan(40))); // sox's placeholder data size
        AudioClip clip = WavFile.Read(new MemoryStream(piped), "pipe");
        Assert.Equal(2, clip.ChannelCount);
        Assert.Equal(Frames, clip.Length);
    }

    /// <summary>The file as sox decodes it to 32-bit float, split into channels.</summary>
    private static float[][] SoxDecode(string path, int channels)
    {
        byte[] raw = RunSox([path, "-t", "f32", "-"]);
        int frames = raw.Length / 4 / channels;
        return
        [
            .. Enumerable.Range(0, channels).Select(c => Enumerable.Range(0, frames)
                .Select(i => BinaryPrimitives.ReadSingleLittleEndian(raw.AsSpan((i * channels + c) * 4))).ToArray()),
        ];
    }

    private static void AssertSame(float[][] expected, AudioClip actual, float tolerance)
    {
        Assert.Equal(expected.Length, actual.ChannelCount);
        for (int c = 0; c < expected.Length; c++)
        {
            Assert.Equal(expected[c].Length, actual.Channels[c].Length);
            for (int i = 0; i < expected[c].Length; i++)
                Assert.True(Math.Abs(expected[c][i] - actual.Channels[c][i]) <= tolerance,
                    $"channel {c} sample {i}: sox {expected[c][i]:R}, ours {actual.Channels[c][i]:R}");
        }
    }

    /// <summary>Runs sox without dithering, returning its standard output.</summary>
    private static byte[] RunSox(IEnumerable<string> arguments)
    {
        var start = new ProcessStartInfo(Sox!) { RedirectStandardOutput = true, RedirectStandardError = true };
        start.ArgumentList.Add("--no-dither");
        foreach (string argument in arguments) start.ArgumentList.Add(argument);
        using Process process = Process.Start(start)!;
        Task<string> errors = process.StandardError.ReadToEndAsync();
        var output = new MemoryStream();
        process.StandardOutput.BaseStream.CopyTo(output);
        process.WaitForExit();
        Assert.True(process.ExitCode == 0, $"sox {string.Join(' ', start.ArgumentList)} failed: {errors.Result}");
        return output.ToArray();
    }

    private static string? FindSox() =>
        (Environment.GetEnvironmentVariable("PATH") ?? "").Split(Path.PathSeparator)
            .Select(folder => Path.Combine(folder, "sox"))
            .FirstOrDefault(File.Exists);
}
