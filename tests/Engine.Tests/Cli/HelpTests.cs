using MusicGen.Tests.Support;

namespace MusicGen.Tests.Cli;

[Collection("Console")]
public class HelpTests
{
    [Theory]
    [InlineData("generate", "--melody")]
    [InlineData("encode", "--bandwidth")]
    [InlineData("decode", "--format")]
    [InlineData("info", "--model")]
    [InlineData("quantize", "--weights")]
    [InlineData("verify", "--device")]
    [InlineData("bench", "--steps")]
    [InlineData("devices", "OpenCL")]
    [InlineData("serve", "--api-key")]
    public void Every_command_explains_itself(string command, string mentioned)
    {
        var run = CliRunner.Run(command, "--help");
        Assert.Equal(0, run.ExitCode);
        Assert.Contains(mentioned, run.Output);
    }

    [Fact]
    public void An_unknown_option_or_command_is_refused_without_a_stack_trace()
    {
        var option = CliRunner.Run("info", "--model", TestPaths.Golden("musicgen-mono"), "--colour", "red");
        Assert.NotEqual(0, option.ExitCode);
        Assert.Contains("--colour", option.Error + option.Output);
        Assert.DoesNotContain("   at ", option.Error + option.Output);
        var command = CliRunner.Run("compose");
        Assert.NotEqual(0, command.ExitCode);
        Assert.DoesNotContain("   at ", command.Error + command.Output);
    }
}
