using System.Diagnostics;
using System.Text.RegularExpressions;
using MusicGen.Tests;
using MusicGen.Tests.Support;

namespace MusicGen.Server.Tests;

/// <summary>
/// <c>musicgen serve</c> as a child process on a free loopback port, with the golden musicgen-mono checkpoint: for
/// what only a process shows (signals, exit codes, resident memory, files left behind).
/// </summary>
public sealed partial class ServeProcess : IDisposable
{
    private readonly List<string> _log = [];
    private readonly Task[] _logReaders;

    private ServeProcess(Process process, Uri address, IEnumerable<string> startLines)
    {
        Process = process;
        Client = new HttpClient { BaseAddress = address, Timeout = TimeSpan.FromMinutes(2) };
        _log.AddRange(startLines);
        // Its own lines go to stderr, ASP.NET Core's log to stdout: both are kept, in the order they come.
        _logReaders = [Task.Run(() => Collect(process.StandardError)), Task.Run(() => Collect(process.StandardOutput))];
    }

    private void Collect(StreamReader reader)
    {
        while (reader.ReadLine() is { } line)
            lock (_log) _log.Add(line);
    }

    public Process Process { get; }

    public HttpClient Client { get; }

    /// <summary>What the server wrote to stderr so far.</summary>
    public string Log
    {
        get { lock (_log) return string.Join('\n', _log); }
    }

    /// <summary>Starts the server and waits (at most two minutes) until it listens.</summary>
    public static ServeProcess Start(IReadOnlyDictionary<string, string> environment, params string[] options)
    {
        string model = Path.Combine(TestPaths.Golden("musicgen-mono"), "model");
        var process = CliProcess.Start(environment, ["serve", "--model", model, "--port", "0", .. options]);
        var lines = new List<string>();
        var listening = Task.Run(() =>
        {
            while (process.StandardError.ReadLine() is { } line)
            {
                lines.Add(line);
                if (Listening().Match(line) is { Success: true } match) return new Uri(match.Groups[1].Value);
            }
            return null;
        });
        if (!listening.Wait(TimeSpan.FromMinutes(2)) || listening.Result is not { } address)
        {
            process.Kill(entireProcessTree: true);
            throw new InvalidOperationException("musicgen serve did not start listening:\n" + string.Join('\n', lines));
        }
        return new ServeProcess(process, address, lines);
    }

    /// <summary>Waits for the process to exit; false if it still runs after <paramref name="timeout"/>.</summary>
    public bool WaitForExit(TimeSpan timeout)
    {
        if (!Process.WaitForExit(timeout)) return false;
        Process.WaitForExit();
        Task.WaitAll(_logReaders, TimeSpan.FromSeconds(10));
        return true;
    }

    public void Dispose()
    {
        Client.Dispose();
        if (!Process.HasExited) Process.Kill(entireProcessTree: true);
        Process.Dispose();
    }

    [GeneratedRegex(@"serving on (http://[^ ,]+)")]
    private static partial Regex Listening();
}
