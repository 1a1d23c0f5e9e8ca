using MusicGen.Loaders.Checkpoints;

namespace MusicGen.Loaders.Hub;

/// <summary>
/// Fills a snapshot folder of the cache with the files the engine reads from one commit of a repository, skipping
/// those already there. Files are stored as plain files in the snapshot folder (see <see cref="ModelLocator"/>).
/// </summary>
internal sealed class SnapshotDownloader(HubClient client, CachedRepository repository, HubOptions options, RepositoryFiles files)
{
    /// <param name="id">The repository, and the revision whose ref is set once every file is in place.</param>
    /// <param name="revision">What to ask the Hub for: the id's revision, or the cached commit when completing a snapshot.</param>
    /// <returns>The snapshot folder.</returns>
    public async Task<string> DownloadAsync(HubModelId id, string revision)
    {
        var info = await client.GetRevisionAsync(id, revision);
        string commit = info.Commit;
        if (!info.Files.Contains(files.Marker))
            throw new MusicGenException($"{id}: the repository has no {files.Marker}; it is not {files.What}");
        string weights = WeightsEntry(id, info);

        string snapshot = repository.SnapshotFolder(commit);
        Directory.CreateDirectory(snapshot);
        options.Log?.Invoke($"fetching {id} (commit {commit[..7]}) from {options.Endpoint} into {snapshot}");
        int fetched = 0;
        async Task FetchAsync(string file)
        {
            string destination = Path.Combine(snapshot, file);
            if (File.Exists(destination)) return;
            await client.DownloadAsync(id, commit, file, destination);
            fetched++;
        }

        // Small files first, so that a repository that is not what it should be fails before gigabytes arrive.
        await FetchAsync(files.Marker);
        foreach (string file in files.Optional.Where(info.Files.Contains)) await FetchAsync(file);
        await FetchAsync(weights);
        if (weights == files.ShardIndex)
            foreach (string shard in ShardsOf(id, info, Path.Combine(snapshot, weights))) await FetchAsync(shard);

        // As huggingface_hub does, so that neither asks again for what this commit does not have.
        foreach (string file in files.Optional.Where(file => !info.Files.Contains(file))) repository.RecordAbsent(commit, file);
        // Last, so that a failed download leaves the ref on the snapshot it had.
        if (!id.RevisionIsCommit) repository.SetRef(id.Revision, commit);
        if (fetched > 0) options.Log?.Invoke($"downloaded {fetched} file(s) of {id} into {snapshot}");
        return snapshot;
    }

    /// <summary>The sharded index if there is one (as <see cref="WeightStore"/> prefers it), else the single file.</summary>
    private string WeightsEntry(HubModelId id, RevisionInfo info)
    {
        if (files.ShardIndex is { } index && info.Files.Contains(index)) return index;
        if (info.Files.Contains(files.Weights)) return files.Weights;
        var otherWeights = info.Files.Where(IsUnsupportedWeights).Order(StringComparer.Ordinal).ToList();
        string found = otherWeights.Count > 0 ? $"; it has only {string.Join(", ", otherWeights)}, which this engine does not read" : "";
        string expected = files.ShardIndex is { } shardIndex ? $"{files.Weights} or {shardIndex}" : files.Weights;
        throw new MusicGenException($"{id}: the repository has no safetensors weights ({expected}){found}");
    }

    private static readonly string[] UnsupportedWeightExtensions = [".bin", ".pt", ".pth", ".ckpt", ".msgpack", ".h5", ".onnx", ".gguf"];

    private static bool IsUnsupportedWeights(string file) =>
        UnsupportedWeightExtensions.Any(extension => file.EndsWith(extension, StringComparison.OrdinalIgnoreCase));

    /// <summary>The shards the downloaded index lists (plain file names, as the index reader checks), each a file of the commit.</summary>
    private static IReadOnlyList<string> ShardsOf(HubModelId id, RevisionInfo info, string indexPath)
    {
        var shards = WeightStore.ShardsListedIn(indexPath);
        foreach (string shard in shards)
        {
            if (!info.Files.Contains(shard))
                throw new MusicGenException($"{id}: {WeightStore.IndexFileName} lists the shard {shard}, which the repository does not have");
        }
        return shards;
    }
}
