namespace MusicGen.Engine.Backends;

/// <summary>
/// What a backend has asked of its device since it opened, both counts only ever growing: kernel launches, and
/// synchronizations (the host waiting for the device, as a blocking read does). A backend that computes on the host
/// counts neither.
/// </summary>
public readonly record struct BackendCounters(long Launches, long Synchronizations)
{
    public static BackendCounters operator -(BackendCounters after, BackendCounters before) =>
        new(after.Launches - before.Launches, after.Synchronizations - before.Synchronizations);
}
