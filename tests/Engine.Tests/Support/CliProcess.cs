using System.Diagnostics;
using System.Runtime.InteropServices;

namespace MusicGen.Tests.Support;

/// <summary>
/// Runs the built musicgen command line as a child process, for what only a process shows: signals, exit codes,
/// the stderr line, a bounded heap, processes running in parallel or one killed mid-way.
/// </summary>
public static class CliProcess
{
    public sealed record Result(int ExitCode, string Output, string Error);

    /// <summary>The CLI assembly built with the same configuration as the tests.</summary>
    private static string CliAssembly
    {
        get
        {
            var framework = new DirectoryInfo(AppContext.BaseDirectory.TrimEnd(Path.DirectorySeparatorChar));
            string path = Path.Combine(TestPaths.RepoRoot, "Cli", "bin", framework.Parent!.Name, framework.Name, "musicgen.dll");
            return File.Exists(path) ? path : throw new FileNotFoundException($"build the Cli project first: {path} is missing");
        }
    }

    /// <summary>The host that runs the tests, so that the child uses the same runtime.</summary>
    private static string Host => Environment.GetEnvironmentVariable("DOTNET_HOST_PATH") ?? "dotnet";

    public static Process Start(params string[] args) => Start(new Dictionary<string, string>(), args);

    /// <summary>Starts it with these environment variables set (a scheduler's, for example).</summary>
    public static Process Start(IReadOnlyDictionary<string, string> environment, params string[] args)
    {
        var start = new ProcessStartInfo(Host) { RedirectStandardOutput = true, RedirectStandardError = true, UseShellExecute = false };
        start.Environment.Remove("MUSICGEN_DEBUG");
        foreach (var (name, value) in environment) start.Environment[name] = value;
        start.ArgumentList.Add(CliAssembly);
        foreach (string arg in args) start.ArgumentList.Add(arg);
        return Process.Start(start) ?? throw new InvalidOperationException("could not start " + CliAssembly);
    }

    /// <summary>Runs to the end (killed after <paramref name="timeoutSeconds"/>, which fails the test).</summary>
    public static Result Run(string[] args, int timeoutSeconds = 120) => Run(args, new Dictionary<string, string>(), timeoutSeconds);

    /// <summary>Runs to the end with these environment variables set.</summary>
    public static Result Run(string[] args, IReadOnlyDictionary<string, string> environment, int timeoutSeconds = 120)
    {
        using var process = Start(environment, args);
        var output = process.StandardOutput.ReadToEndAsync();
        var error = process.StandardError.ReadToEndAsync();
        if (!process.WaitForExit(TimeSpan.FromSeconds(timeoutSeconds)))
        {
            process.Kill(entireProcessTree: true);
            Assert.Fail($"musicgen {string.Join(' ', args)} still ran after {timeoutSeconds} s");
        }
        process.WaitForExit();
        return new Result(process.ExitCode, output.Result, error.Result);
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

    /// <summary>
    /// The lines of standard error up to and including the first that holds <paramref name="line"/>, such as the
    /// <c>paused at NAME</c> of a run held at a pause point (MUSICGEN_PAUSE_AT); fails if the process ends first.
    /// </summary>
    public static List<string> ReadErrorUntil(Process process, string line)
    {
        var lines = new List<string>();
        while (process.StandardError.ReadLine() is string next)
        {
            lines.Add(next);
            if (next.Contains(line, StringComparison.Ordinal)) return lines;
        }
        Assert.Fail($"the process ended without printing '{line}': {string.Join('\n', lines)}");
        return lines;
    }

    /// <summary>Sends a signal (SIGINT 2, SIGTERM 15) to a process.</summary>
    public static void Signal(Process process, int signal) => Assert.Equal(0, kill(process.Id, signal));

    [DllImport("libc", SetLastError = true)]
    private static extern int kill(int pid, int signal);

}
