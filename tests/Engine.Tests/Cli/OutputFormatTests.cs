using MusicGen.Engine.Audio;
using MusicGen.Engine.Audio.Flac;
using MusicGen.Tests.Support;

namespace MusicGen.Tests.Cli;

/// <summary>generate and decode writing by extension, streaming FLAC and Opus, --normalize, and the refusals, checked with reference tools.</summary>
[Collection("Console")]
public class OutputFormatTests
{
    private static string MonoModel => Path.Combine(TestPaths.Golden("musicgen-mono"), "model");

    [SkippableFact]
    public void Generate_writes_flac_that_flac_tests_and_opus_that_ffprobe_reads_with_the_right_length()
    {
        Skip.If(ReferenceTool.Find("flac") is null || ReferenceTool.Find("ffprobe") is null, "flac or ffprobe is not installed");
        using var folder = new TempFolder();
        string flac = folder.File("piece.flac"), opus = folder.File("piece.opus");
        foreach (string output in new[] { flac, opus })
        {
            var run = CliRunner.Run("generate", "lofi", "--model", MonoModel, "--duration", "1.5", "--seed", "3", "--out", output);
            Assert.True(run.ExitCode == 0, run.Error);
        }

        ReferenceTool.Succeed("flac", "--silent", "--test", flac);
        var info = FlacStreamInfo.Read(File.ReadAllBytes(flac).AsSpan(8, FlacStreamInfo.Size));
        Assert.Equal((48000L, 24, 1), (info.TotalSamples, info.BitsPerSample, info.Channels));
        var (samples, rate, channels) = ReferenceTool.FfmpegDecode(opus);
        Assert.Equal((48000, 1, 72000), (rate, channels, samples.Length));
    }

    [SkippableFact]
    public void Loudness_is_the_default_and_measures_minus_14_LUFS_with_ffmpeg()
    {
        Skip.If(ReferenceTool.Find("ffmpeg") is null, "ffmpeg is not installed");
        using var folder = new TempFolder();
        string normalized = folder.File("loud.wav"), raw = folder.File("raw.wav");
        Assert.Equal(0, CliRunner.Run("generate", "techno", "--model", MonoModel, "--duration", "2", "--seed", "5", "--out", normalized).ExitCode);
        Assert.Equal(0, CliRunner.Run("generate", "techno", "--model", MonoModel, "--duration", "2", "--seed", "5", "--normalize", "none", "--out", raw).ExitCode);

        double measured = ReferenceTool.Ebur128(normalized);
        Assert.True(Math.Abs(measured + 14) <= 0.5, $"{measured:0.0} LUFS");
        Assert.True(Math.Abs(ReferenceTool.Ebur128(raw) + 14) > 0.5, "the golden model's raw output happens to be at -14 LUFS: the test shows nothing");
    }

    [SkippableTheory]
    [InlineData("flac")]
    [InlineData("opus")]
    public void Standard_output_streams_flac_or_opus_that_reference_decoders_read_whole(string format)
    {
        Skip.If(ReferenceTool.Find("ffmpeg") is null, "ffmpeg is not installed");
        using var folder = new TempFolder();
        var generate = CliProcess.Start("generate", "bass", "--model", MonoModel, "--duration", "2", "--greedy", "--out", "-", "--out-format", format);
        var stdout = new MemoryStream();
        Task copy = generate.StandardOutput.BaseStream.CopyToAsync(stdout);
        Task<string> errors = generate.StandardError.ReadToEndAsync();
        generate.WaitForExit();
        copy.Wait();
        Assert.True(generate.ExitCode == 0, errors.Result);
        string path = folder.File("streamed." + format);
        File.WriteAllBytes(path, stdout.ToArray());

        var (samples, rate, channels) = ReferenceTool.FfmpegDecode(path);
        Assert.Equal(1, channels);
        Assert.Equal(2 * rate, samples.Length);
        if (format == "flac") ReferenceTool.Succeed("flac", "--silent", "--test", path);
    }

    [Theory]
    [InlineData("--format Float32: FLAC holds Pcm24 or Pcm16", "--out", "x.flac", "--format", "Float32")]
    [InlineData("--format Pcm16: Opus in Ogg has no sample format to choose (its codec decides); leave --format out", "--out", "x.opus", "--format", "pcm16")]
    [InlineData("--normalize Loudness needs the whole piece; --out - writes the audio as it is generated (leave --normalize out)", "--out", "-", "--normalize", "loudness")]
    [InlineData("--out-format goes with --out -; a file's extension names its format", "--out", "x.wav", "--out-format", "flac")]
    public void Formats_a_container_cannot_carry_are_refused_before_loading(string message, params string[] options)
    {
        using var folder = new TempFolder();
        var run = CliRunner.Run(["generate", "x", "--model", "no/such-model", .. options.Select(o => o.StartsWith('x') ? folder.File(o) : o)]);
        Assert.Equal(1, run.ExitCode);
        Assert.Equal($"error: {message}", run.Error.Trim());
    }

    [Fact]
    public void Mp3_without_ffmpeg_is_one_line_naming_ffmpeg_before_any_work()
    {
        using var folder = new TempFolder();
        string output = folder.File("x.mp3");
        var run = CliProcess.Run(["generate", "x", "--model", "no/such-model", "--out", output], new Dictionary<string, string> { ["PATH"] = folder.Path });
        Assert.Equal(1, run.ExitCode);
        Assert.Equal($"error: {output}: MP3 output needs ffmpeg, which is not installed (not found on PATH). Install it " +
            "(e.g. 'apt-get install ffmpeg', 'brew install ffmpeg', or from https://ffmpeg.org) or write .wav, .flac or .opus", run.Error.Trim());
    }

    [SkippableFact]
    public void Decode_writes_flac_bit_exactly_as_the_wav_it_would_write()
    {
        Skip.If(ReferenceTool.Find("flac") is null, "flac is not installed");
        using var folder = new TempFolder();
        string model = Path.Combine(TestPaths.Golden("encodec-32khz"), "model"), wav = folder.File("in.wav"), codes = folder.File("codes.safetensors");
        WavFile.Write(wav, new AudioClip(32000, [RandomData.Uniform(2, 16000, 0.5f)]), SampleFormat.Float32);
        Assert.Equal(0, CliRunner.Run("encode", wav, "--model", model, "--out", codes).ExitCode);
        string flac = folder.File("out.flac"), pcm = folder.File("out.wav");
        Assert.Equal(0, CliRunner.Run("decode", codes, "--model", model, "--out", flac, "--format", "pcm16").ExitCode);
        Assert.Equal(0, CliRunner.Run("decode", codes, "--model", model, "--out", pcm, "--format", "pcm16").ExitCode);

        ReferenceTool.Succeed("flac", "--silent", "--test", flac);
        Assert.Equal(WavFile.Read(pcm).Channels, AudioFile.Read(flac).Channels);
    }
}
