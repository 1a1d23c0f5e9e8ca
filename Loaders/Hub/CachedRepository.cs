namespace MusicGen.Loaders.Hub;

/// <summary>
/// One model repository's folder in the Hugging Face cache, laid out as Python's huggingface_hub lays it out:
/// <c>models--owner--name/refs/{revision}</c> holds a commit hash, <c>snapshots/{commit}/</c> the files of that commit
/// (symlinks into <c>blobs/</c> when huggingface_hub wrote them, plain files when we did), and
/// <c>.no_exist/{commit}/{file}</c> marks a file the commit is known not to have.
/// </summary>
internal sealed class CachedRepository(string cacheDirectory, HubModelId id)
{
    public string Folder { get; } = Path.Combine(cacheDirectory, $"models--{id.Owner}--{id.Name}");

    public string SnapshotFolder(string commit) => Path.Combine(Folder, "snapshots", commit);

    /// <summary>The commit a revision stands for in the cache: itself if it is a commit hash, else its ref if there is one.</summary>
    public string? CommitOf(string revision)
    {
        if (HubModelId.IsCommitHash(revision)) return revision;
        string refPath = RefPath(revision);
        if (!File.Exists(refPath)) return null;
        string commit = System.Text.Encoding.UTF8.GetString(InputFile.ReadAllBytes(refPath, 1024)).Trim();
        return HubModelId.IsCommitHash(commit) ? commit : null;
    }

    /// <summary>Points a branch or tag at a commit; written without a newline, as huggingface_hub writes it.</summary>
    public void SetRef(string revision, string commit)
    {
        if (revision == commit || CommitOf(revision) == commit) return;
        string refPath = RefPath(revision);
        Directory.CreateDirectory(Path.GetDirectoryName(refPath)!);
        AtomicFile.Write(refPath, stream => stream.Write(System.Text.Encoding.ASCII.GetBytes(commit)));
    }

    public bool IsKnownAbsent(string commit, string file) => File.Exists(NoExistPath(commit, file));

    public void RecordAbsent(string commit, string file)
    {
        string path = NoExistPath(commit, file);
        Directory.CreateDirectory(Path.GetDirectoryName(path)!);
        File.WriteAllBytes(path, []);
    }

    private string RefPath(string revision) => Path.Combine(Folder, "refs", revision);

    private string NoExistPath(string commit, string file) => Path.Combine(Folder, ".no_exist", commit, file);
}
