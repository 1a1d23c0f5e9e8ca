using MusicGen.Tests.Support;

namespace MusicGen.Tests.Cli;

/// <summary>--adapter on the commands that load a model: parsed there, merged by the pipeline, refused in one line when bad.</summary>
[Collection("Console")]
public class AdapterOptionTests
{
    [Theory]
    [InlineData("generate")]
    [InlineData("verify")]
    [InlineData("bench")]
    [InlineData("serve")]
    public void Commands_that_load_a_model_take_adapters(string command)
    {
        var help = CliRunner.Run(command, "--help");
        Assert.Contains("--adapter", help.Output);
        var bad = CliRunner.Run(command, "--adapter", "punk-lora:500");
        Assert.Equal(1, bad.ExitCode);
        Assert.Contains("--adapter takes an adapter folder or Hub id, optionally followed by :SCALE with SCALE a number from -100 to 100; got 'punk-lora:500'", bad.Error);
    }

    [Fact]
    public void Generate_merges_the_adapters_it_is_given_and_says_so()
    {
        using var folder = new TempFolder();
        string[] common = ["generate", "techno", "--model", AdapterFiles.PromptModel, "--tokens", "8", "--greedy", "--weights", "q8"];
        var plain = CliRunner.Run([.. common, "--out", folder.File("plain.wav")]);
        var adapted = CliRunner.Run([.. common, "--adapter", AdapterFiles.Lora + ":0.5", "--out", folder.File("adapted.wav")]);

        Assert.True(adapted.ExitCode == 0, adapted.Error);
        Assert.Contains($"with adapter {AdapterFiles.Lora}:0.5 (q8 weights, q8 cache)", adapted.Error);
        Assert.NotEqual(File.ReadAllBytes(folder.File("plain.wav")), File.ReadAllBytes(folder.File("adapted.wav")));
    }

    [Fact]
    public void A_bad_adapter_stops_generate_and_serve_before_anything_is_written_or_served()
    {
        using var folder = new TempFolder();
        string missing = folder.File("no-such-adapter");
        var generate = CliRunner.Run("generate", "techno", "--model", AdapterFiles.PromptModel, "--tokens", "8", "--adapter", missing, "--out", folder.File("x.wav"));
        Assert.Equal(1, generate.ExitCode);
        Assert.Contains($"error: {missing}: no such folder, and not a Hugging Face Hub model id", generate.Error);
        Assert.False(File.Exists(folder.File("x.wav")));

        var serve = CliRunner.Run("serve", "--model", AdapterFiles.PromptModel, "--adapter", AdapterFiles.Rslora, "--port", "0");
        Assert.Equal(1, serve.ExitCode);
        Assert.Contains("delta, but the checkpoint's 'decoder.lm_heads.0.weight' is [256, 64]", serve.Error);
        Assert.DoesNotContain("   at ", serve.Error);
    }

    [Fact]
    public void Verify_merges_its_adapters_after_those_of_the_case()
    {
        var unchanged = CliRunner.Run("verify", TestPaths.Golden("musicgen-rslora"), "--adapter", AdapterFiles.Rslora + ":0");
        Assert.True(unchanged.ExitCode == 0, unchanged.Output);
        var changed = CliRunner.Run("verify", TestPaths.Golden("musicgen-rslora"), "--adapter", AdapterFiles.Rslora + ":0.5");
        Assert.Equal(1, changed.ExitCode);
        Assert.Contains("generate.codes", changed.Output);
    }
}
