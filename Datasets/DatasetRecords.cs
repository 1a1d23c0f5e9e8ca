using System.Text.Json;
using MusicGen.Loaders;

namespace MusicGen.Datasets;

/// <summary>
/// What every shard of one dataset must agree on, kept in <c>OUT_DIR.parts/settings.json</c>: the manifest, the
/// split, the layout of the parts and the codec.
/// </summary>
public sealed record DatasetSettings(
    string ManifestFingerprint,
    int Clips,
    int Shards,
    int PartSize,
    double TestFraction,
    int? MotOffset,
    string Cut,
    string Model,
    int SampleRate,
    int FrameRate,
    int Channels,
    int Codebooks,
    double Bandwidth,
    string[] ExtraColumns)
{
    /// <summary>Parts of a shard: its clips in runs of <see cref="PartSize"/>.</summary>
    public int PartsOf(Shard shard)
    {
        var (start, end) = shard.Range(Clips);
        return (end - start + PartSize - 1) / PartSize;
    }

    /// <summary>The manifest positions part <paramref name="part"/> of a shard covers.</summary>
    public (int Start, int End) PartRange(Shard shard, int part)
    {
        var (start, end) = shard.Range(Clips);
        return (start + part * PartSize, Math.Min(end, start + (part + 1) * PartSize));
    }

    /// <summary>The settings a previous run left, if any.</summary>
    public static DatasetSettings? Load(string path) => File.Exists(path) ? JsonFile.Read<DatasetSettings>(path) : null;
}

/// <summary>A clip left out of the dataset, and why.</summary>
public sealed record ClipFailure(string Id, string Reason);

/// <summary>Clips, seconds of audio and codes of one split of a part.</summary>
public sealed record SplitStatistics(int Clips, double Seconds, long Tokens)
{
    public static SplitStatistics Of(IReadOnlyCollection<DatasetRow> rows) =>
        new(rows.Count, rows.Sum(r => r.Seconds), rows.Sum(r => (long)r.Codes.Length));

    public SplitStatistics Plus(SplitStatistics other) => new(Clips + other.Clips, Seconds + other.Seconds, Tokens + other.Tokens);
}

/// <summary>
/// The marker of a finished part (<c>part-NNNNN.json</c>, written after its Parquet files): what it holds, what
/// failed, and how many bytes of audio it read.
/// </summary>
public sealed record PartRecord(SplitStatistics Train, SplitStatistics Test, ClipFailure[] Failures, long AudioBytesRead);

/// <summary>JSON files of the dataset's bookkeeping, written atomically.</summary>
public static class JsonFile
{
    private static readonly JsonSerializerOptions Options = new() { WriteIndented = true };

    public static T Read<T>(string path)
    {
        try
        {
            return JsonSerializer.Deserialize<T>(File.ReadAllText(path), Options) ?? throw new MusicGenException($"{path}: empty");
        }
        catch (JsonException e)
        {
            throw new MusicGenException($"{path}: not a valid record ({e.Message})");
        }
    }

    public static void Write<T>(string path, T value) => AtomicFile.Write(path, stream => JsonSerializer.Serialize(stream, value, Options));
}
