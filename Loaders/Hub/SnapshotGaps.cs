using MusicGen.Loaders.Checkpoints;

namespace MusicGen.Loaders.Hub;

/// <summary>
/// The files a cached snapshot lacks: those a checkpoint cannot open without (config.json, the weights, every shard
/// the index lists) and optional ones the commit is not known to lack.
/// </summary>
internal sealed record SnapshotGaps(IReadOnlyList<string> Required, IReadOnlyList<string> Optional)
{
    public bool IsEmpty => Required.Count == 0 && Optional.Count == 0;

    public static SnapshotGaps Find(string snapshot, Func<string, bool> isKnownAbsent)
    {
        bool Has(string file) => File.Exists(Path.Combine(snapshot, file)); // follows huggingface_hub's symlinks
        var required = new List<string>();
        if (!Has(CheckpointFiles.Config)) required.Add(CheckpointFiles.Config);
        if (Has(WeightStore.IndexFileName))
            required.AddRange(WeightStore.ShardsListedIn(Path.Combine(snapshot, WeightStore.IndexFileName)).Where(shard => !Has(shard)));
        else if (!Has(WeightStore.SingleFileName))
            required.Add(WeightStore.SingleFileName);
        var optional = CheckpointFiles.Optional.Where(file => !Has(file) && !isKnownAbsent(file)).ToList();
        return new SnapshotGaps(required, optional);
    }
}
