namespace MusicGen.Loaders.Hub;

/// <summary>
/// Turns what the user gave as a model (a checkpoint folder, or a Hugging Face Hub id) into a checkpoint folder.
/// A Hub id is looked up in the Hugging Face cache that Python's huggingface_hub uses, and what is missing is
/// downloaded into it. Reading follows huggingface_hub's relative symlinks into <c>blobs/</c>; writing puts plain
/// files in the snapshot folder, which is what huggingface_hub itself does where symlinks are unavailable: it needs
/// no privilege on Windows, nor the pre-redirect ETag headers that name blobs, and huggingface_hub reads it as its own.
/// </summary>
public static class ModelLocator
{
    /// <summary>
    /// A local folder is returned as is; <c>owner/name</c> or <c>owner/name@revision</c> is looked up in the cache
    /// (<c>models--owner--name/refs/&lt;revision&gt;</c> → <c>snapshots/&lt;commit&gt;/</c>), and downloaded into it when
    /// missing or incomplete and not offline. A cached revision is used as it is, without asking the Hub for a newer commit.
    /// </summary>
    /// <exception cref="MusicGenException">Neither a folder nor a Hub id; offline and not cached; the download failed.</exception>
    public static string Resolve(string model, HubOptions options)
    {
        ArgumentNullException.ThrowIfNull(model);
        ArgumentNullException.ThrowIfNull(options);
        if (Directory.Exists(model)) return model;
        if (File.Exists(model)) throw new MusicGenException($"{model}: this is a file; give the checkpoint's folder");
        if (!HubModelId.TryParse(model, out var id))
            throw new MusicGenException($"{model}: no such folder, and not a Hugging Face Hub model id (owner/name or owner/name@revision)");
        // Downloads are asynchronous inside (for their stall timeouts); the thread pool keeps the caller's
        // synchronization context out of it, so blocking here cannot deadlock.
        return Task.Run(() => ResolveAsync(id, options)).GetAwaiter().GetResult();
    }

    private static async Task<string> ResolveAsync(HubModelId id, HubOptions options)
    {
        var repository = new CachedRepository(options.CacheDirectory, id);
        string? commit = repository.CommitOf(id.Revision);
        if (commit is null || !Directory.Exists(repository.SnapshotFolder(commit)))
        {
            if (options.Offline)
                throw new MusicGenException(
                    $"{id}: not in the Hugging Face cache ({options.CacheDirectory}), and offline mode is on (HF_HUB_OFFLINE); unset HF_HUB_OFFLINE to download it, or give a checkpoint folder");
            return await DownloadAsync(id, id.Revision, repository, options);
        }

        string snapshot = repository.SnapshotFolder(commit);
        var gaps = SnapshotGaps.Find(snapshot, file => repository.IsKnownAbsent(commit, file));
        if (gaps.IsEmpty || (options.Offline && gaps.Required.Count == 0)) return snapshot;
        if (options.Offline)
            throw new MusicGenException(
                $"{id}: the cached snapshot {snapshot} lacks {string.Join(", ", gaps.Required)}, and offline mode is on (HF_HUB_OFFLINE); unset HF_HUB_OFFLINE to download what is missing");
        try
        {
            // The cached commit, not the revision: completing this snapshot must not switch to a newer commit.
            return await DownloadAsync(id, commit, repository, options);
        }
        catch (MusicGenException e) when (gaps.Required.Count == 0)
        {
            options.Log?.Invoke($"warning: could not fetch {string.Join(", ", gaps.Optional)} ({e.Message}); using the cached snapshot as it is");
            return snapshot;
        }
    }

    private static async Task<string> DownloadAsync(HubModelId id, string revision, CachedRepository repository, HubOptions options)
    {
        using var client = new HubClient(options);
        return await new SnapshotDownloader(client, repository, options).DownloadAsync(id, revision);
    }
}
