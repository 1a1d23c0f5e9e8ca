using MusicGen.Tests.Support;

namespace MusicGen.Tests.Cli;

public class SignalTests
{
    [SkippableFact]
    public void Sigterm_stops_generation_at_the_next_step_with_one_line_and_no_file()
    {
        Skip.IfNot(OperatingSystem.IsLinux(), "signals are sent with kill(2)");
        using var folder = new TempFolder();
        // The run waits after its first step until it is cancelled: the signal lands mid-generation, every time.
        using var process = CliProcess.Start(new Dictionary<string, string> { ["MUSICGEN_PAUSE_AT"] = "generate-step" },
            "generate", "pop", "--model", Path.Combine(TestPaths.Golden("musicgen-mono"), "model"), "--duration", "1", "--out", folder.File("song.wav"));
        var output = process.StandardOutput.ReadToEndAsync();
        var error = CliProcess.ReadErrorUntil(process, "paused at generate-step");

        CliProcess.Signal(process, 15);
        error.AddRange(process.StandardError.ReadToEnd().Split('\n'));
        Assert.True(process.WaitForExit(60_000), "the process did not stop");

        Assert.True(process.ExitCode == 1, string.Join('\n', error));
        Assert.Contains("error: cancelled", error);
        Assert.Empty(output.Result);
        Assert.Empty(Directory.EnumerateFileSystemEntries(folder.Path));
    }
}
