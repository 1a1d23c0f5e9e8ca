using MusicGen.Engine.Audio;
using MusicGen.Tests.Support;

namespace MusicGen.Tests.Cli;

[Collection("Console")]
public class GenerateCommandTests
{
    private static string MonoModel => Path.Combine(TestPaths.Golden("musicgen-mono"), "model");

    [Fact]
    public void Writes_the_asked_length_and_a_seed_reproduces_the_bytes()
    {
        using var folder = new TempFolder();
        string a = folder.File("a.wav"), b = folder.File("b.wav"), c = folder.File("c.wav");
        var first = CliRunner.Run("generate", "lofi beat", "--model", MonoModel, "--duration", "1.5", "--seed", "11", "--out", a);
        Assert.True(first.ExitCode == 0, first.Error);
        Assert.Equal(0, CliRunner.Run("generate", "lofi beat", "--model", MonoModel, "--duration", "1.5", "--seed", "11", "--out", b).ExitCode);
        Assert.Equal(0, CliRunner.Run("generate", "lofi beat", "--model", MonoModel, "--duration", "1.5", "--seed", "12", "--out", c).ExitCode);

        var clip = WavFile.Read(a);
        Assert.Equal(32000, clip.SampleRate);
        Assert.Equal(48000, clip.Length);
        Assert.Equal(File.ReadAllBytes(a), File.ReadAllBytes(b));
        Assert.NotEqual(File.ReadAllBytes(a), File.ReadAllBytes(c));
        Assert.Contains("real-time factor", first.Error);
    }

    [Fact]
    public void Several_prompts_and_unconditional_samples_give_numbered_files()
    {
        using var folder = new TempFolder();
        var run = CliRunner.Run("generate", "rock", "a much longer prompt about jazz and swing", "--model", MonoModel, "--tokens", "10", "--greedy", "--out", folder.File("x.wav"));
        Assert.True(run.ExitCode == 0, run.Error);
        Assert.Equal(7 * 640, WavFile.Read(folder.File("x-1.wav")).Length);
        Assert.True(File.Exists(folder.File("x-2.wav")));

        var stereo = CliRunner.Run("generate", "--unconditional", "--samples", "2", "--model", Path.Combine(TestPaths.Golden("musicgen-stereo"), "model"),
            "--tokens", "8", "--out", folder.File("u.wav"), "--format", "pcm16");
        Assert.True(stereo.ExitCode == 0, stereo.Error);
        Assert.Equal(2, WavFile.Read(folder.File("u-2.wav")).ChannelCount);
    }

    [Fact]
    public void Bad_requests_are_clear_errors_without_output()
    {
        using var folder = new TempFolder();
        string output = folder.File("o.wav");
        void Fails(string expected, params string[] args)
        {
            var run = CliRunner.Run(["generate", .. args, "--out", output]);
            Assert.Equal(1, run.ExitCode);
            Assert.Contains(expected, run.Error);
            Assert.DoesNotContain("   at ", run.Error);
            Assert.False(File.Exists(output));
        }
        Fails("at most 30 s (1503 steps)", "pop", "--model", MonoModel, "--duration", "31");
        Fails("give a prompt", "--model", MonoModel, "--duration", "1");
        Fails("--unconditional takes no prompt", "pop", "--unconditional", "--model", MonoModel);
        Fails("not both", "pop", "--model", MonoModel, "--duration", "1", "--tokens", "9");
        Fails("make no audio", "pop", "--model", MonoModel, "--tokens", "2");
        Fails("top-p", "pop", "--model", MonoModel, "--tokens", "5", "--top-p", "1.5");
        Fails("standalone EnCodec", "pop", "--model", Path.Combine(TestPaths.Golden("encodec-32khz"), "model"), "--tokens", "5");
    }
}
