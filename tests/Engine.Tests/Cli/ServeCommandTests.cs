using MusicGen.Tests.Support;

namespace MusicGen.Tests.Cli;

/// <summary><c>musicgen serve</c> refuses unsafe or senseless settings with one line, before loading anything.</summary>
[Collection("Console")]
public class ServeCommandTests
{
    [Theory]
    [InlineData("--host 0.0.0.0", "--api-key")]
    [InlineData("--api-key longenoughkey --no-auth", "not both")]
    [InlineData("--queue 0", "--queue takes a whole number from 1 to 10000; got '0'")]
    [InlineData("--port 70000", "--port takes a port number from 0 to 65535; got '70000'")]
    [InlineData("--api-key short", "--api-key takes a key of at least 8 characters")]
    [InlineData("--max-batch many", "--max-batch")]
    [InlineData("--max-duration 4000", "--max-duration takes a number of seconds above 0 and at most 3600")]
    [InlineData("--window 31", "--window takes a number of seconds above 0 and at most 30")]
    [InlineData("--max-streams -1", "--max-streams takes a whole number from 0 to 64; got '-1'")]
    [InlineData("--stream-idle-timeout 0", "--stream-idle-timeout takes a number of seconds above 0 and at most 86400; got '0'")]
    [InlineData("--shutdown-timeout -1", "--shutdown-timeout takes a number of seconds from 0 to 3600; got '-1'")]
    [InlineData("--window 10 --extend-stride 12", "--extend-stride 12 s must be more than 0 and less than the window (10 s)")]
    public void Refused_settings_are_one_line_errors(string options, string mentioned)
    {
        // A missing model would fail too: the settings must be refused first.
        var run = CliRunner.Run(["serve", "--model", "no/such-model-folder", .. options.Split(' ')]);
        Assert.Equal(1, run.ExitCode);
        Assert.StartsWith("error: ", run.Error);
        Assert.Contains(mentioned, run.Error);
        Assert.Single(run.Error.Trim().Split('\n'));
    }
}
