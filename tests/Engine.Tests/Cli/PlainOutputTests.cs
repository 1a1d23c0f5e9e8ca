using System.Reflection;
using MusicGen.Tests.Support;

namespace MusicGen.Tests.Cli;

/// <summary>What a new user sees from the process: plain lines on a pipe, the version, the missing-folder message.</summary>
public class PlainOutputTests
{
    [Fact]
    public void Standard_error_that_is_not_a_terminal_gets_plain_whole_lines()
    {
        using var folder = new TempFolder();
        var run = CliProcess.Run(["generate", "a long prompt about a slow ambient piece with warm pads and a distant piano", "--model",
            Path.Combine(TestPaths.Golden("musicgen-mono"), "model"), "--tokens", "20", "--greedy", "--out", folder.File("x.wav")]);

        Assert.True(run.ExitCode == 0, run.Error);
        Assert.DoesNotContain('\u001b', run.Error); // no colour or cursor codes
        Assert.DoesNotContain('\r', run.Error); // no progress line redrawn in place
        Assert.Contains("generating: 100% (20/20 steps, ", run.Error);
        // The long settings line stays one line (Spectre.Console wrapped at 80 columns off a terminal).
        Assert.Contains(run.Error.Split('\n'), line => line.StartsWith("loaded ", StringComparison.Ordinal) && line.Length > 80);
    }

    [Fact]
    public void Version_prints_the_package_version_and_commit()
    {
        var run = CliProcess.Run(["--version"]);
        string expected = typeof(MusicGen.Cli.Program).Assembly.GetCustomAttribute<AssemblyInformationalVersionAttribute>()!.InformationalVersion;
        Assert.Equal(0, run.ExitCode);
        Assert.Equal(expected, run.Output.Trim());
        Assert.Matches(@"^\d+\.\d+\.\d+", expected);
    }

    [Fact]
    public void Verify_on_a_missing_folder_says_the_folder_is_missing()
    {
        using var folder = new TempFolder();
        string missing = folder.File("no-such-case");
        var run = CliProcess.Run(["verify", missing]);
        Assert.Equal(1, run.ExitCode);
        Assert.Equal($"error: {missing}: folder not found", run.Error.Trim());
    }
}
