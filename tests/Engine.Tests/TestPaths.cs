namespace MusicGen.Tests;

/// <summary>Where the repository's test data lives, found from the test binary's folder.</summary>
public static class TestPaths
{
    public static string RepoRoot { get; } = FindRepoRoot();

    public static string GoldenRoot => Path.Combine(RepoRoot, "golden");

    public static string Golden(string caseName) => Path.Combine(GoldenRoot, caseName);

    /// <summary>Every golden case folder (one per case.json).</summary>
    public static IEnumerable<string> GoldenCases() =>
        Directory.EnumerateDirectories(GoldenRoot).Where(d => File.Exists(Path.Combine(d, "case.json"))).Order(StringComparer.Ordinal);

    private static string FindRepoRoot()
    {
        for (var dir = new DirectoryInfo(AppContext.BaseDirectory); dir is not null; dir = dir.Parent)
            if (File.Exists(Path.Combine(dir.FullName, "Engine.sln"))) return dir.FullName;
        throw new InvalidOperationException("Engine.sln not found above " + AppContext.BaseDirectory);
    }
}

/// <summary>A fresh folder under the system temp folder, deleted when disposed.</summary>
public sealed class TempFolder : IDisposable
{
    public string Path { get; } = System.IO.Path.Combine(System.IO.Path.GetTempPath(), "musicgen-tests-" + Guid.NewGuid().ToString("N"));

    public TempFolder() => Directory.CreateDirectory(Path);

    public string File(string name) => System.IO.Path.Combine(Path, name);

    public void Dispose()
    {
        try { Directory.Delete(Path, recursive: true); } catch (IOException) { }
    }
}
