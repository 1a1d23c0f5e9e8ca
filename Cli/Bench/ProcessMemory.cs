namespace MusicGen.Cli.Bench;

/// <summary>
/// The peak resident memory of this process (Linux's VmHWM), which can be reset so that one phase of a run is
/// measured on its own. Elsewhere the figures are unavailable (null).
/// </summary>
public static class ProcessMemory
{
    private const string Status = "/proc/self/status", ClearRefs = "/proc/self/clear_refs";

    /// <summary>Makes the peak equal to the current resident size (after a full garbage collection).</summary>
    public static void ResetPeak()
    {
        GC.Collect(2, GCCollectionMode.Aggressive, blocking: true, compacting: true);
        GC.WaitForPendingFinalizers();
        try
        {
            if (File.Exists(ClearRefs)) File.WriteAllText(ClearRefs, "5");
        }
        catch (IOException) { }
        catch (UnauthorizedAccessException) { }
    }

    /// <summary>Peak resident bytes since the start or the last <see cref="ResetPeak"/>.</summary>
    public static long? PeakBytes() => Field("VmHWM:");

    private static long? Field(string name)
    {
        if (!File.Exists(Status)) return null;
        foreach (string line in File.ReadLines(Status))
            if (line.StartsWith(name, StringComparison.Ordinal)
                && long.TryParse(line[name.Length..].Trim().Split(' ')[0], out long kilobytes))
                return kilobytes * 1024;
        return null;
    }
}
