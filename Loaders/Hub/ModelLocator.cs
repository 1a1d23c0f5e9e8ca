using MusicGen.Loaders.Adapters;
using MusicGen.Loaders.Checkpoints;

namespace MusicGen.Loaders.Hub;

/// <summary>
/// Turns what the user gave as a model or an adapter (a folder, or a Hugging Face Hub id) into a folder.
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
    public static string Resolve(string model, HubOptions options) => Resolve(model, options, RepositoryFiles.Checkpoint);

    /// <summary>
    /// The folder of a PEFT adapter: a local folder as is, or a Hub id found in (or downloaded into) the cache as
    /// <see cref="Resolve(string, HubOptions)"/> finds a model, fetching only adapter_config.json and
    /// adapter_model.safetensors.
    /// </summary>
    public static string ResolveAdapter(string adapter, HubOptions options) => Resolve(adapter, options, RepositoryFiles.Adapter);

    /// <summary>
    /// Opens the checkpoint <paramref name="model"/> names with <paramref name="adapters"/> merged into it: each is
    /// found and read (<see cref="LoraAdapter.Open"/>), checked against the model's name
    /// (<see cref="LoraAdapter.CheckBaseModel"/>) and against its tensors, all before any weight is loaded.
    /// </summary>
    /// <exception cref="AdapterException">An adapter cannot be found, read or merged into this model.</exception>
    /// <exception cref="CheckpointException">The checkpoint cannot be opened.</exception>
    /// <exception cref="MusicGenException">The model's Hub id cannot be resolved or downloaded.</exception>
    public static CheckpointFolder OpenCheckpoint(string model, IReadOnlyList<AdapterReference> adapters, HubOptions options)
    {
        string folder = Resolve(model, options);
        var opened = new List<LoraAdapter>();
        try
        {
            foreach (var reference in adapters)
            {
                opened.Add(LoraAdapter.Open(reference, options));
                opened[^1].CheckBaseModel(model);
            }
        }
        catch
        {
            foreach (var adapter in opened) adapter.Dispose();
            throw;
        }
        return MusicGenException.Refine(() => CheckpointFolder.Open(folder, opened), e => new CheckpointException(e.Message, e));
    }

    private static string Resolve(string location, HubOptions options, RepositoryFiles files)
    {
        ArgumentNullException.ThrowIfNull(location);
        ArgumentNullException.ThrowIfNull(options);
        if (Directory.Exists(location)) return location;
        if (File.Exists(location)) throw new MusicGenException($"{location}: this is a file; give the {files.Noun}'s folder");
        if (!HubModelId.TryParse(location, out var id))
            throw new MusicGenException($"{location}: no such folder, and not a Hugging Face Hub model id (owner/name or owner/name@revision)");
        // Downloads are asynchronous inside (for their stall timeouts); the thread pool keeps the caller's
        // synchronization context out of it, so blocking here cannot deadlock.
        return Task.Run(() => ResolveAsync(id, options, files)).GetAwaiter().GetResult();
    }

    private static async Task<string> ResolveAsync(HubModelId id, HubOptions options, RepositoryFiles files)
    {
        var repository = new CachedRepository(options.CacheDirectory, id);
        string? commit = repository.CommitOf(id.Revision);
        if (commit is null || !Directory.Exists(repository.SnapshotFolder(commit)))
        {
            if (options.Offline)
                throw new MusicGenException(
                    $"{id}: not in the Hugging Face cache ({options.CacheDirectory}), and offline mode is on (HF_HUB_OFFLINE); unset HF_HUB_OFFLINE to download it, or give the {files.Noun}'s folder");
            return await DownloadAsync(id, id.Revision, repository, options, files);
        }

        string snapshot = repository.SnapshotFolder(commit);
        var gaps = SnapshotGaps.Find(snapshot, files, file => repository.IsKnownAbsent(commit, file));
        if (gaps.IsEmpty || (options.Offline && gaps.Required.Count == 0)) return snapshot;
        if (options.Offline)
            throw new MusicGenException(
                $"{id}: the cached snapshot {snapshot} lacks {string.Join(", ", gaps.Required)}, and offline mode is on (HF_HUB_OFFLINE); unset HF_HUB_OFFLINE to download what is missing");
        try
        {
            // The cached commit, not the revision: completing this snapshot must not switch to a newer commit.
            return await DownloadAsync(id, commit, repository, options, files);
        }
        catch (MusicGenException e) when (gaps.Required.Count == 0)
        {
            options.Log?.Invoke($"warning: could not fetch {string.Join(", ", gaps.Optional)} ({e.Message}); using the cached snapshot as it is");
            return snapshot;
        }
    }

    private static async Task<string> DownloadAsync(HubModelId id, string revision, CachedRepository repository, HubOptions options, RepositoryFiles files)
    {
        using var client = new HubClient(options);
        return await new SnapshotDownloader(client, repository, options, files).DownloadAsync(id, revision);
    }
}
