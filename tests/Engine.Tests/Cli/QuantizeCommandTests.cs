using MusicGen.Engine.Audio;
using MusicGen.Tests.Support;

namespace MusicGen.Tests.Cli;

[Collection("Console")]
public class QuantizeCommandTests
{
    private static string MonoModel => Path.Combine(TestPaths.Golden("musicgen-mono"), "model");

    [Fact]
    public void A_quantized_checkpoint_generates_and_loads_in_its_own_type_unless_told_another_which_is_refused()
    {
        using var folder = new TempFolder();
        string quantized = folder.File("mono-q4");
        var quantize = CliRunner.Run("quantize", "--model", MonoModel, "--weights", "q4", "--out", quantized);
        Assert.True(quantize.ExitCode == 0, quantize.Error);
        Assert.Contains("--weights q4", quantize.Output);

        var generate = CliRunner.Run("generate", "rock", "--model", quantized, "--tokens", "6", "--greedy", "--out", folder.File("a.wav"));
        Assert.True(generate.ExitCode == 0, generate.Error);
        Assert.Contains("(q4 weights, q8 cache)", generate.Error);
        Assert.Equal(3 * 640, WavFile.Read(folder.File("a.wav")).Length);

        var info = CliRunner.Run("info", "--model", quantized, "--device", "cpu");
        Assert.True(info.ExitCode == 0, info.Error);
        Assert.Contains("loaded      q4 weights on cpu", info.Output);

        var refused = CliRunner.Run("generate", "rock", "--model", quantized, "--tokens", "6", "--weights", "q8", "--out", folder.File("b.wav"));
        Assert.Equal(1, refused.ExitCode);
        Assert.Contains("--weights q4, not q8", refused.Error);
        Assert.False(File.Exists(folder.File("b.wav")));

        var again = CliRunner.Run("quantize", "--model", MonoModel, "--out", quantized);
        Assert.Equal(1, again.ExitCode);
        Assert.Contains("new or empty folder", again.Error);
    }
}
