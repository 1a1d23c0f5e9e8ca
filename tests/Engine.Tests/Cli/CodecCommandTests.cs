using MusicGen.Engine.Audio;
using MusicGen.Engine.Codec;
using MusicGen.Verification;
using MusicGen.Tests.Support;

namespace MusicGen.Tests.Cli;

[Collection("Console")]
public class CodecCommandTests
{
    private static string CodecCase => TestPaths.Golden("encodec-32khz");
    private static string CodecModel => Path.Combine(CodecCase, "model");

    [Theory]
    [InlineData(".safetensors")]
    [InlineData(".json")]
    public void Encode_then_decode_gives_the_reference_codes_and_the_original_length(string extension)
    {
        using var folder = new TempFolder();
        using var golden = GoldenCase.Open(CodecCase);
        int[] shape = golden.Shape("encode.input"); // [N, 1, S]
        var input = golden.Float("encode.input");
        var expectedCodes = golden.Int("encode.codes"); // [N, Q, F]
        int[] codeShape = golden.Shape("encode.codes");
        for (int n = 0; n < shape[0]; n++)
        {
            string wav = folder.File($"in{n}.wav"), codes = folder.File($"codes{n}{extension}"), output = folder.File($"out{n}.wav");
            WavFile.Write(wav, new AudioClip(32000, [input.AsSpan(n * shape[2], shape[2]).ToArray()]), WavSampleFormat.Float32);

            var encode = CliRunner.Run("encode", wav, "--model", CodecModel, "--out", codes);
            Assert.True(encode.ExitCode == 0, encode.Error);
            var written = CodesFile.Load(codes);
            int perItem = codeShape[1] * codeShape[2];
            Assert.Equal(expectedCodes.AsSpan(n * perItem, perItem).ToArray(), written.Values.Select(v => (long)v).ToArray());

            var decode = CliRunner.Run("decode", codes, "--model", CodecModel, "--out", output, "--format", "pcm16");
            Assert.True(decode.ExitCode == 0, decode.Error);
            var clip = WavFile.Read(output);
            Assert.Equal(shape[2], clip.Length);
            Assert.Equal(32000, clip.SampleRate);
        }
    }

    [Fact]
    public void Audio_at_another_rate_is_resampled_to_the_codec()
    {
        using var folder = new TempFolder();
        string wav = folder.File("in.wav"), codes = folder.File("codes.safetensors"), output = folder.File("out.wav");
        WavFile.Write(wav, new AudioClip(44100, [RandomData.Uniform(5, 44100, 0.5f)]), WavSampleFormat.Pcm16);
        Assert.Equal(0, CliRunner.Run("encode", wav, "--model", CodecModel, "--out", codes).ExitCode);
        Assert.Equal(50, CodesFile.Load(codes).Frames);
        Assert.Equal(0, CliRunner.Run("decode", codes, "--model", CodecModel, "--out", output).ExitCode);
        Assert.Equal(32000, WavFile.Read(output).Length);
    }

    [Fact]
    public void A_stereo_model_codes_each_channel()
    {
        using var folder = new TempFolder();
        string wav = folder.File("in.wav"), codes = folder.File("codes.safetensors"), output = folder.File("out.wav");
        var left = RandomData.Uniform(1, 3000, 0.5f);
        var right = RandomData.Uniform(2, 3000, 0.5f);
        WavFile.Write(wav, new AudioClip(32000, [left, right]), WavSampleFormat.Float32);
        string model = Path.Combine(TestPaths.Golden("musicgen-stereo"), "model");
        Assert.Equal(0, CliRunner.Run("encode", wav, "--model", model, "--out", codes).ExitCode);
        var written = CodesFile.Load(codes);
        Assert.Equal(2, written.Channels);
        Assert.Equal(5, written.Frames);
        Assert.Equal(0, CliRunner.Run("decode", codes, "--model", model, "--out", output).ExitCode);
        Assert.Equal(2, WavFile.Read(output).ChannelCount);
    }

    [Fact]
    public void Bad_input_is_one_clear_line_and_no_output_file()
    {
        using var folder = new TempFolder();
        string wav = folder.File("in.wav"), output = folder.File("out.safetensors");
        WavFile.Write(wav, new AudioClip(44100, [Array.Empty<float>()]), WavSampleFormat.Pcm16);

        var empty = CliRunner.Run("encode", wav, "--model", CodecModel, "--out", output);
        Assert.Equal(1, empty.ExitCode);
        Assert.Contains("no samples", empty.Error);
        Assert.DoesNotContain("   at ", empty.Error);
        Assert.False(File.Exists(output));

        File.WriteAllBytes(wav, [1, 2, 3, 4]);
        var notWav = CliRunner.Run("encode", wav, "--model", CodecModel, "--out", output);
        Assert.Equal(1, notWav.ExitCode);
        Assert.StartsWith("error: ", notWav.Error);

        var missingModel = CliRunner.Run("decode", folder.File("codes.json"), "--model", folder.File("nope"), "--out", folder.File("o.wav"));
        Assert.Equal(1, missingModel.ExitCode);
        Assert.Contains("not found", missingModel.Error);

        File.WriteAllText(folder.File("codes.json"), "{\"codes\": [[[1, 2], [3]]], \"sampling_rate\": 32000, \"frame_rate\": 50}");
        var ragged = CliRunner.Run("decode", folder.File("codes.json"), "--model", CodecModel, "--out", folder.File("o.wav"));
        Assert.Contains("different numbers of frames", ragged.Error);
        Assert.False(File.Exists(folder.File("o.wav")));

        var unknownOption = CliRunner.Run("encode", wav, "--model", CodecModel, "--out", output, "--bogus");
        Assert.NotEqual(0, unknownOption.ExitCode);
    }

    [Fact]
    public void Info_describes_the_checkpoint()
    {
        var info = CliRunner.Run("info", "--model", Path.Combine(TestPaths.Golden("musicgen-mono"), "model"));
        Assert.Equal(0, info.ExitCode);
        Assert.Contains("kind        musicgen", info.Output);
        Assert.Contains("4 codebooks × 2048", info.Output);
        Assert.Contains("F32 ×180", info.Output);
        Assert.Contains("model.safetensors", info.Output);
    }

    [Fact]
    public void Verify_prints_every_tensor_and_a_summary()
    {
        var verify = CliRunner.Run("verify", CodecCase);
        Assert.Equal(0, verify.ExitCode);
        Assert.Contains("encode.codes", verify.Output);
        Assert.Contains("35 passed, 0 failed", verify.Output);
        Assert.Equal(1, CliRunner.Run("verify", Path.Combine(CodecCase, "model")).ExitCode);
    }

    [Fact]
    public void A_collection_becomes_a_folder_of_codes_and_a_bad_file_does_not_stop_it()
    {
        using var folder = new TempFolder();
        string music = Path.Combine(folder.Path, "music"), dataset = Path.Combine(folder.Path, "dataset");
        Directory.CreateDirectory(Path.Combine(music, "album"));
        WavFile.Write(Path.Combine(music, "one.wav"), new AudioClip(32000, [RandomData.Uniform(1, 6400, 0.3f)]), WavSampleFormat.Float32);
        WavFile.Write(Path.Combine(music, "album", "two.wav"), new AudioClip(16000, [RandomData.Uniform(2, 3200, 0.3f)]), WavSampleFormat.Pcm16);
        File.WriteAllBytes(Path.Combine(music, "album", "broken.wav"), [1, 2, 3]);
        File.WriteAllText(Path.Combine(music, "notes.txt"), "not audio");

        var run = CliRunner.Run("encode", music, "--model", CodecModel, "--out", dataset);
        Assert.Equal(1, run.ExitCode);
        Assert.Contains("2 encoded, 1 failed", run.Output);
        Assert.Contains("broken.wav", run.Error);
        Assert.Equal(10, CodesFile.Load(Path.Combine(dataset, "one.safetensors")).Frames);
        Assert.Equal(10, CodesFile.Load(Path.Combine(dataset, "album", "two.safetensors")).Frames);
        Assert.False(File.Exists(Path.Combine(dataset, "album", "broken.safetensors")));
        Assert.False(File.Exists(Path.Combine(dataset, "notes.safetensors")));
    }
}
