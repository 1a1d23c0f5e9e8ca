using System.Globalization;

namespace MusicGen.Datasets;

/// <summary>
/// Where a dataset's files go: after <c>finalize</c> the output folder holds the Hub layout alone,
/// <c>data/{train,test}-NNNNN-of-NNNNN.parquet</c>, <c>README.md</c> and <c>failures.csv</c>, so that it can be
/// pushed as it is; the shards' parts and bookkeeping go beside it, in <c>OUT_DIR.parts/</c> (kept, so that a run
/// again skips the parts already made).
/// </summary>
public sealed class DatasetLayout(string root)
{
    public string Root { get; } = root;
    public string Parts => Path.TrimEndingDirectorySeparator(Path.GetFullPath(Root)) + ".parts";
    public string Settings => Path.Combine(Parts, "settings.json");
    public string Data => Path.Combine(Root, "data");
    public string Card => Path.Combine(Root, "README.md");
    public string Failures => Path.Combine(Root, "failures.csv");

    public string ShardFolder(Shard shard) => Path.Combine(Parts, $"shard-{Number(shard.Index)}-of-{Number(shard.Count)}");

    /// <summary>The marker written once a part's Parquet files are in place.</summary>
    public string PartRecord(Shard shard, int part) => Path.Combine(ShardFolder(shard), $"part-{Number(part)}.json");

    public string PartFile(Shard shard, int part, string split) => Path.Combine(ShardFolder(shard), $"part-{Number(part)}.{split}.parquet");

    /// <summary>The Hub's name for file <paramref name="index"/> of <paramref name="count"/> of a split.</summary>
    public static string DataFileName(string split, int index, int count) => $"{split}-{Number(index)}-of-{Number(count)}.parquet";

    private static string Number(int value) => value.ToString("D5", CultureInfo.InvariantCulture);
}
