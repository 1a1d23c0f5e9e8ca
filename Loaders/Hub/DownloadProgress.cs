namespace MusicGen.Loaders.Hub;

/// <summary>
/// Counts a download's bytes and, for files large enough to take a while, logs each tenth reached (a few lines
/// per file, never one per chunk).
/// </summary>
internal sealed class DownloadProgress(string file, long? expectedLength, Action<string>? log)
{
    /// <summary>Smaller files arrive too fast for progress lines to help.</summary>
    public const long ReportedFromLength = 64L << 20;

    private int _tenthsReported;

    public long Received { get; private set; }

    public void Add(int bytes)
    {
        Received += bytes;
        // The end itself is not worth a line: the next file's line, or the summary, follows at once.
        if (log is null || expectedLength is not { } total || total < ReportedFromLength || Received >= total) return;
        int tenths = (int)(Received * 10 / total);
        if (tenths <= _tenthsReported) return;
        _tenthsReported = tenths;
        log($"  {file}: {tenths * 10}% ({ByteSize.Format(Received)} of {ByteSize.Format(total)})");
    }
}
