using MusicGen.Loaders.Hub;

namespace MusicGen.Tests.Hub;

/// <summary>Repositories and options the Hub tests share.</summary>
public static class HubTestData
{
    public const string RepoId = "facebook/musicgen-test";

    /// <summary>A complete small MusicGen checkpoint in Hub layout.</summary>
    public static string MonoModel => Path.Combine(TestPaths.Golden("musicgen-mono"), "model");

    /// <summary>
    /// A repository folder as the Hub publishes one: the checkpoint plus files the engine must never download
    /// (PyTorch weights, a README).
    /// </summary>
    public static string PublishedCopy(string source, string target)
    {
        Directory.CreateDirectory(target);
        foreach (string file in Directory.GetFiles(source)) File.Copy(file, Path.Combine(target, Path.GetFileName(file)));
        File.WriteAllText(Path.Combine(target, "pytorch_model.bin"), "not read");
        File.WriteAllText(Path.Combine(target, "README.md"), "# test model");
        return target;
    }

    public static HubOptions Options(FakeHub hub, string cacheDirectory, bool offline = false, string? token = null, List<string>? log = null) =>
        new(hub.Endpoint, cacheDirectory, token, offline, log is null ? null : line => { lock (log) log.Add(line); });

    public static string RepoFolder(string cacheDirectory, string repoId = RepoId) =>
        Path.Combine(cacheDirectory, "models--" + repoId.Replace("/", "--"));

    public static string SnapshotOf(string cacheDirectory, string commit, string repoId = RepoId) =>
        Path.Combine(RepoFolder(cacheDirectory, repoId), "snapshots", commit);

    /// <summary>Every file under a folder, relative and sorted, to show nothing stray (like a temporary file) is left.</summary>
    public static string[] FilesUnder(string folder) => Directory.Exists(folder)
        ? Directory.GetFiles(folder, "*", SearchOption.AllDirectories).Select(file => Path.GetRelativePath(folder, file).Replace('\\', '/')).Order(StringComparer.Ordinal).ToArray()
        : [];
}
