namespace MusicGen.Loaders;

/// <summary>
/// Named points where a process test holds a run on purpose, so that what a signal does there is tested without
/// racing the clock: a run with <c>MUSICGEN_PAUSE_AT=NAME</c> in its environment prints <c>paused at NAME</c> on
/// standard error when it reaches that point, and waits there (until it is cancelled, or a minute at most) while
/// the test signals it. Without the variable a point costs a comparison.
/// </summary>
public static class PausePoint
{
    private static readonly string? Wanted = Environment.GetEnvironmentVariable("MUSICGEN_PAUSE_AT");

    /// <summary>Pauses here if this is the point asked for, until <paramref name="until"/> is cancelled.</summary>
    public static void Reach(string name, CancellationToken until = default)
    {
        if (Wanted != name) return;
        Console.Error.WriteLine($"paused at {name}");
        until.WaitHandle.WaitOne(TimeSpan.FromMinutes(1));
    }
}
