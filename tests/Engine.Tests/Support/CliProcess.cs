using System.Diagnostics;

namespace MusicGen.Tests.Support;

/// <summary>
/// Starts the musicgen command line as a separate process (the built musicgen.dll beside the tests), for tests
/// that need processes running in parallel or one killed mid-way.
/// </summary>
public static class CliProcess
{
    private static string Program => Path.Combine(AppContext.BaseDirectory, "musicgen.dll");

    /// <summary>The host that runs the tests, so that the child uses the same runtime.</summary>
    private static string Host => Environment.GetEnvironmentVariable("DOTNET_HOST_PATH") ?? "dotnet";

    public static Process Start(params string[] args) => Start(new Dictionary<string, string>(), args);

    /// <summary>Starts it with these environment variables set (a scheduler's, for example).</summary>
    public static Process Start(IReadOnlyDictionary<string, string> environment, params string[] args)
    {
        var start = new ProcessStartInfo(Host) { RedirectStandardOutput = true, RedirectStandardError = true, UseShellExecute = false };
        foreach (var (name, value) in environment) start.Environment[name] = value;
        start.ArgumentList.Add(Program);
        foreach (string arg in args) start.ArgumentList.Add(arg);
        return Process.Start(start) ?? throw new InvalidOperationException("could not start " + Program);
    }

    /// <summary>Waits for the process and returns what it printed; fails the test when it exits non-zero.</summary>
    public static string WaitForSuccess(Process process)
    {
        var output = process.StandardOutput.ReadToEndAsync();
        var error = process.StandardError.ReadToEndAsync();
        process.WaitForExit();
        Assert.True(process.ExitCode == 0, $"exit {process.ExitCode}: {error.Result}");
        return output.Result;
    }
}
