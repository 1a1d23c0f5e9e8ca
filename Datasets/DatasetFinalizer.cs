using System.Text;
using MusicGen.Loaders;

namespace MusicGen.Datasets;

/// <summary>What a finished dataset holds, for the card and the summary line.</summary>
public sealed record DatasetSummary(
    DatasetSettings Settings,
    SplitStatistics Train,
    SplitStatistics Test,
    int TrainFiles,
    int TestFiles,
    int Failed,
    long AudioBytesRead,
    long TokenBytesWritten);

/// <summary>
/// Turns the parts of every shard into the dataset: checks that each shard's parts are all there (naming the
/// shards that are not), copies the parts to <c>data/{split}-NNNNN-of-NNNNN.parquet</c> in manifest order, and
/// writes <c>failures.csv</c> and the <c>README.md</c> dataset card. Running it again gives the same files.
/// </summary>
public static class DatasetFinalizer
{
    public static DatasetSummary Run(DatasetLayout layout)
    {
        var settings = DatasetSettings.Load(layout.Settings)
            ?? throw new MusicGenException($"{layout.Root}: no dataset parts here ({layout.Settings} is missing); run musicgen dataset first");
        var shards = Enumerable.Range(0, settings.Shards).Select(i => new Shard(i, settings.Shards)).ToArray();
        var missing = shards
            .Select(s => (Shard: s, Done: Enumerable.Range(0, settings.PartsOf(s)).Count(p => File.Exists(layout.PartRecord(s, p))), Parts: settings.PartsOf(s)))
            .Where(s => s.Done < s.Parts)
            .ToArray();
        if (missing.Length > 0)
            throw new MusicGenException($"{missing.Length} of {settings.Shards} shards are not complete: "
                + string.Join(", ", missing.Select(m => $"shard {m.Shard} ({m.Done} of {m.Parts} parts)"))
                + "; run them (again) with --shard, then finalize");

        var parts = shards.SelectMany(s => Enumerable.Range(0, settings.PartsOf(s)).Select(p => (Shard: s, Part: p, Record: JsonFile.Read<PartRecord>(layout.PartRecord(s, p))))).ToArray();
        RemoveStaleStaging(layout);
        string staging = StagingPrefix(layout) + $"{Environment.ProcessId}-{Guid.NewGuid():N}";
        Directory.CreateDirectory(staging);
        try
        {
            int trainFiles = CopySplit(layout, staging, DatasetSplit.Train, parts.Where(p => p.Record.Train.Clips > 0).Select(p => (p.Shard, p.Part)).ToArray());
            int testFiles = CopySplit(layout, staging, DatasetSplit.Test, parts.Where(p => p.Record.Test.Clips > 0).Select(p => (p.Shard, p.Part)).ToArray());
            long tokenBytes = Directory.EnumerateFiles(staging).Sum(f => new FileInfo(f).Length);
            if (Directory.Exists(layout.Data)) Directory.Delete(layout.Data, recursive: true);
            Directory.Move(staging, layout.Data);
            var failures = parts.SelectMany(p => p.Record.Failures).ToArray();
            WriteFailures(layout.Failures, failures);
            var summary = new DatasetSummary(
                settings,
                parts.Select(p => p.Record.Train).Aggregate(new SplitStatistics(0, 0, 0), (a, b) => a.Plus(b)),
                parts.Select(p => p.Record.Test).Aggregate(new SplitStatistics(0, 0, 0), (a, b) => a.Plus(b)),
                trainFiles, testFiles, failures.Length, parts.Sum(p => p.Record.AudioBytesRead), tokenBytes);
            AtomicFile.Write(layout.Card, stream => stream.Write(Encoding.UTF8.GetBytes(DatasetCard.Write(summary))));
            return summary;
        }
        finally
        {
            if (Directory.Exists(staging)) Directory.Delete(staging, recursive: true);
        }
    }

    private static int CopySplit(DatasetLayout layout, string folder, string split, (Shard Shard, int Part)[] parts)
    {
        for (int i = 0; i < parts.Length; i++)
        {
            string source = layout.PartFile(parts[i].Shard, parts[i].Part, split);
            if (!File.Exists(source)) throw new MusicGenException($"{source}: missing, though its part is marked done; delete {layout.PartRecord(parts[i].Shard, parts[i].Part)} and run shard {parts[i].Shard} again");
            File.Copy(source, Path.Combine(folder, DatasetLayout.DataFileName(split, i, parts.Length)));
            PausePoint.Reach("dataset-copied");
        }
        return parts.Length;
    }

    private static string StagingPrefix(DatasetLayout layout) => layout.Data + ".tmp-";

    /// <summary>Removes the staging folders (<c>data.tmp-PID-…</c>) of finalize runs that were killed outright.</summary>
    private static void RemoveStaleStaging(DatasetLayout layout)
    {
        if (!Directory.Exists(layout.Root)) return;
        string prefix = Path.GetFileName(StagingPrefix(layout));
        foreach (string folder in Directory.EnumerateDirectories(layout.Root, prefix + "*"))
        {
            string owner = Path.GetFileName(folder)[prefix.Length..].Split('-')[0];
            if (int.TryParse(owner, out int pid) && pid != Environment.ProcessId && !AtomicFile.IsRunning(pid))
                Directory.Delete(folder, recursive: true);
        }
    }

    private static void WriteFailures(string path, ClipFailure[] failures)
    {
        var text = new StringBuilder("ytid,reason\n");
        foreach (var failure in failures) text.Append(Quote(failure.Id)).Append(',').Append(Quote(failure.Reason)).Append('\n');
        AtomicFile.Write(path, stream => stream.Write(Encoding.UTF8.GetBytes(text.ToString())));
    }

    private static string Quote(string field) =>
        field.AsSpan().IndexOfAny(",\"\r\n") >= 0 ? "\"" + field.Replace("\"", "\"\"") + "\"" : field;
}
