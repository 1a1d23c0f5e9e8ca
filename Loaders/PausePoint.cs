using System.Diagnostics;
using System.Globalization;

namespace MusicGen.Loaders;

/// <summary>
/// Named points where a process test holds a run on purpose, so that what a signal does there is tested without
/// racing the clock: a run with <c>MUSICGEN_PAUSE_AT=NAME</c> in its environment prints <c>paused at NAME</c> on
/// standard error when it reaches that point, and waits there (until it is cancelled, or a minute at most) while
/// the test signals it. A run with <c>MUSICGEN_CRASH_AT=NAME:N</c> kills itself with SIGKILL the N-th time it
/// reaches NAME, as the kernel's OOM killer or a preempted node would, so that crash tests land at chosen points.
/// Without the variables a point costs a comparison.
/// </summary>
public static class PausePoint
{
    private static readonly string? Wanted = Environment.GetEnvironmentVariable("MUSICGEN_PAUSE_AT");
    private static readonly (string Name, int Count)? Crash = ParseCrash(Environment.GetEnvironmentVariable("MUSICGEN_CRASH_AT"));
    private static int _crashReached;

    /// <summary>Pauses here if this is the point asked for, until <paramref name="until"/> is cancelled.</summary>
    public static void Reach(string name, CancellationToken until = default)
    {
        if (Crash is { } crash && crash.Name == name && Interlocked.Increment(ref _crashReached) == crash.Count)
        {
            Process.GetCurrentProcess().Kill(); // SIGKILL: no handler, finally block or flush runs after it
            Thread.Sleep(Timeout.Infinite);
        }
        if (Wanted != name) return;
        Console.Error.WriteLine($"paused at {name}");
        until.WaitHandle.WaitOne(TimeSpan.FromMinutes(1));
    }

    private static (string, int)? ParseCrash(string? value) =>
        value?.LastIndexOf(':') is int colon and > 0
            && int.TryParse(value.AsSpan(colon + 1), NumberStyles.None, CultureInfo.InvariantCulture, out int count) && count > 0
            ? (value[..colon], count)
            : null;
}
