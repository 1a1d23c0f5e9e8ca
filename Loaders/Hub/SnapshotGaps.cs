using MusicGen.Loaders.Checkpoints;

namespace MusicGen.Loaders.Hub;

/// <summary>
/// The files a cached snapshot lacks: those it cannot be opened without (config.json or adapter_config.json, the
/// weights, every shard a checkpoint's index lists) and optional ones the commit is not known to lack.
/// </summary>
internal sealed record SnapshotGaps(IReadOnlyList<string> Required, IReadOnlyList<string> Optional)
{
    public bool IsEmpty => Required.Count == 0 && Optional.Count == 0;

    public static SnapshotGaps Find(string snapshot, RepositoryFiles files, Func<string, bool> isKnownAbsent)
    {
        bool Has(string file) => File.Exists(Path.Combine(snapshot, file)); // follows huggingface_hub's symlinks
        var required = new List<string>();
        if (!Has(files.Marker)) required.Add(files.Marker);
        if (files.ShardIndex is { } index && Has(index))
            required.AddRange(WeightStore.ShardsListedIn(Path.Combine(snapshot, index)).Where(shard => !Has(shard)));
        else if (!Has(files.Weights))
            required.Add(files.Weights);
        var optional = files.Optional.Where(file => !Has(file) && !isKnownAbsent(file)).ToList();
        return new SnapshotGaps(required, optional);
    }
}
