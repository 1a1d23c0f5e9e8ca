using System.Buffers.Binary;
using System.Diagnostics;
using MusicGen.Engine.Audio;

namespace MusicGen.Tests.Audio;

/// <summary>The WAV stream of unknown length, read through a pipe by readers that did not write it (sox, ffmpeg) and by ours.</summary>
public class WavStreamTests
{
    private const int SampleRate = 32000;

    /// <summary>Stereo chunks of uneven lengths, a different signal per channel.</summary>
    private static float[][][] Chunks(int seed)
    {
        var random = new Random(seed);
        return
        [
            .. Enumerable.Range(0, 7).Select(_ => random.Next(1, 3000)).Select(length =>
                new[] { Enumerable.Range(0, length).Select(_ => random.NextSingle() * 1.6f - 0.8f).ToArray(),
                        Enumerable.Range(0, length).Select(i => 0.5f * MathF.Sin(i * 0.05f)).ToArray() }),
        ];
    }

    private static float[][] Joined(float[][][] chunks) =>
        [.. Enumerable.Range(0, 2).Select(c => chunks.SelectMany(chunk => chunk[c]).ToArray())];

    [SkippableTheory]
    [InlineData("sox", SampleFormat.Float32)]
    [InlineData("sox", SampleFormat.Pcm16)]
    [InlineData("ffmpeg", SampleFormat.Float32)]
    [InlineData("ffmpeg", SampleFormat.Pcm16)]
    public void A_reader_that_did_not_write_it_reads_every_sample_from_a_pipe(string tool, SampleFormat format)
    {
        string? path = Find(tool);
        Skip.If(path is null, $"{tool} is not installed");
        string[] arguments = tool == "sox"
            ? ["--no-dither", "-t", "wav", "-", "-t", "f32", "-"]
            : ["-hide_banner", "-loglevel", "error", "-f", "wav", "-i", "pipe:0", "-f", "f32le", "-c:a", "pcm_f32le", "pipe:1"];
        var chunks = Chunks(format == SampleFormat.Float32 ? 1 : 2);

        float[] decoded = Pipe(path!, arguments, stdin =>
        {
            var writer = new WavStreamWriter(stdin, SampleRate, 2, format);
            foreach (var chunk in chunks) writer.Write(chunk);
        });

        var expected = Joined(chunks);
        Assert.Equal(expected[0].Length * 2, decoded.Length);
        // PCM16 is written as round(x · 32767) and read back as n / 32768.
        float tolerance = format == SampleFormat.Float32 ? 1f / (1 << 23) : 2f / 32768;
        for (int i = 0; i < expected[0].Length; i++)
            for (int c = 0; c < 2; c++)
                Assert.True(Math.Abs(expected[c][i] - decoded[i * 2 + c]) <= tolerance,
                    $"{tool}: channel {c} sample {i}: wrote {expected[c][i]:R}, read {decoded[i * 2 + c]:R}");
    }

    [Fact]
    public void Our_reader_takes_the_samples_up_to_the_end_of_the_stream()
    {
        var chunks = Chunks(3);
        var stream = new MemoryStream();
        var writer = new WavStreamWriter(stream, SampleRate, 2, SampleFormat.Float32);
        foreach (var chunk in chunks) writer.Write(chunk);

        Assert.Equal(uint.MaxValue, BinaryPrimitives.ReadUInt32LittleEndian(stream.ToArray().AsSpan(4)));
        var clip = WavFile.Read(new MemoryStream(stream.ToArray()), "stream");
        Assert.Equal(Joined(chunks), clip.Channels);
        Assert.Equal(clip.Length, writer.Frames);
    }

    /// <summary>Runs a tool, feeding its standard input as it runs, and returns its float32 standard output.</summary>
    private static float[] Pipe(string tool, string[] arguments, Action<Stream> feed)
    {
        var start = new ProcessStartInfo(tool) { RedirectStandardInput = true, RedirectStandardOutput = true, RedirectStandardError = true };
        foreach (string argument in arguments) start.ArgumentList.Add(argument);
        using var process = Process.Start(start)!;
        var output = new MemoryStream();
        Task copy = process.StandardOutput.BaseStream.CopyToAsync(output);
        Task<string> errors = process.StandardError.ReadToEndAsync();
        using (var stdin = process.StandardInput.BaseStream) feed(stdin);
        copy.Wait();
        process.WaitForExit();
        Assert.True(process.ExitCode == 0, $"{tool} failed: {errors.Result}");
        var bytes = output.ToArray();
        return [.. Enumerable.Range(0, bytes.Length / 4).Select(i => BinaryPrimitives.ReadSingleLittleEndian(bytes.AsSpan(i * 4)))];
    }

    internal static string? Find(string tool) =>
        (Environment.GetEnvironmentVariable("PATH") ?? "").Split(Path.PathSeparator)
            .Select(folder => Path.Combine(folder, tool))
            .FirstOrDefault(File.Exists);
}
