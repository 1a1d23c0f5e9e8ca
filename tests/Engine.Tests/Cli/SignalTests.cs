using System.Diagnostics;

namespace MusicGen.Tests.Cli;

public class SignalTests
{
    [SkippableFact]
    public void Sigterm_stops_generation_at_the_next_step_with_one_line_and_no_file()
    {
        Skip.IfNot(OperatingSystem.IsLinux() || OperatingSystem.IsMacOS(), "POSIX signals");
        using var folder = new TempFolder();
        var start = new ProcessStartInfo(Environment.GetEnvironmentVariable("DOTNET_HOST_PATH") ?? "dotnet")
        {
            RedirectStandardOutput = true,
            RedirectStandardError = true,
        };
        foreach (string argument in new[] { typeof(MusicGen.Cli.Program).Assembly.Location, "generate", "pop", "--model",
                     Path.Combine(TestPaths.Golden("musicgen-mono"), "model"), "--duration", "30", "--out", folder.File("song.wav") })
            start.ArgumentList.Add(argument);
        using var process = Process.Start(start)!;
        var output = process.StandardOutput.ReadToEndAsync();

        // Once the progress bar shows, the generation is under way: 30 s take many steps more.
        var error = new List<string>();
        while (process.StandardError.ReadLine() is string line)
        {
            error.Add(line);
            if (line.Contains("generating", StringComparison.Ordinal)) break;
        }
        Process.Start("kill", ["-TERM", process.Id.ToString(System.Globalization.CultureInfo.InvariantCulture)])!.WaitForExit();
        error.AddRange(process.StandardError.ReadToEnd().Split('\n'));
        process.WaitForExit();

        Assert.True(process.ExitCode == 1, string.Join('\n', error));
        Assert.Contains("error: cancelled", error);
        Assert.Empty(output.Result);
        Assert.Empty(Directory.EnumerateFileSystemEntries(folder.Path));
    }
}
