namespace MusicGen.Cli.Bench;

/// <summary>The peak resident memory of this process (Linux's VmHWM); elsewhere unavailable (null).</summary>
public static class ProcessMemory
{
    private const string Status = "/proc/self/status";

    /// <summary>Peak resident bytes since the process started.</summary>
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
