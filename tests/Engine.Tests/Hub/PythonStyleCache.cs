using System.Security.Cryptography;
using MusicGen.Tests.Support;

namespace MusicGen.Tests.Hub;

/// <summary>
/// Writes a checkpoint into a cache the way Python's huggingface_hub does: contents in blobs/ named by hash, the
/// snapshot folder made of relative symlinks to them, and refs/{revision} holding the commit without a newline.
/// </summary>
public static class PythonStyleCache
{
    /// <returns>The snapshot folder.</returns>
    public static string Write(string cacheDirectory, string repoId, string commit, string sourceFolder, IEnumerable<string> files, string revision = "main")
    {
        string repoFolder = HubTestData.RepoFolder(cacheDirectory, repoId);
        string blobs = Path.Combine(repoFolder, "blobs");
        string snapshot = Path.Combine(repoFolder, "snapshots", commit);
        Directory.CreateDirectory(blobs);
        Directory.CreateDirectory(snapshot);
        foreach (string file in files)
        {
            byte[] bytes = File.ReadAllBytes(Path.Combine(sourceFolder, file));
            string blob = Convert.ToHexStringLower(SHA256.HashData(bytes));
            File.WriteAllBytes(Path.Combine(blobs, blob), bytes);
            SymbolicLinks.Create(Path.Combine(snapshot, file), $"../../blobs/{blob}");
        }
        Directory.CreateDirectory(Path.Combine(repoFolder, "refs"));
        File.WriteAllText(Path.Combine(repoFolder, "refs", revision), commit);
        return snapshot;
    }
}
