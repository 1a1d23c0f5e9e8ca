using System.Diagnostics;

namespace MusicGen.Tests.Packaging;

/// <summary>
/// The libraries as <c>dotnet pack</c> makes them from the tested build, once for every packaging test, under a
/// version of their own so that no NuGet cache can hand out a stale copy.
/// </summary>
public sealed class PackedLibraries : IDisposable
{
#if DEBUG
    public const string Configuration = "Debug";
#else
    public const string Configuration = "Release";
#endif

    public static readonly string[] Ids = ["MusicGen.Loaders", "MusicGen.Engine", "MusicGen.Kernels", "MusicGen.Extensions.AI"];

    private readonly TempFolder _folder = new();

    public string Version { get; } = "0.0.0-test." + Guid.NewGuid().ToString("N")[..12];
    public string Feed => _folder.File("feed");
    public string Scratch => _folder.Path;

    public PackedLibraries() =>
        Dotnet.Run(TestPaths.RepoRoot, "pack", Path.Combine(TestPaths.RepoRoot, "Engine.sln"), "-c", Configuration, "--no-build",
            "-o", Feed, $"-p:PackageVersion={Version}");

    public string Package(string id) => Path.Combine(Feed, $"{id}.{Version}.nupkg");

    public void Dispose() => _folder.Dispose();
}

/// <summary>Runs the dotnet command line that runs the tests.</summary>
public static class Dotnet
{
    /// <summary>Runs dotnet with the arguments in the folder; returns its standard output, or fails with everything it printed.</summary>
    public static string Run(string folder, params string[] arguments)
    {
        var start = new ProcessStartInfo(Environment.GetEnvironmentVariable("DOTNET_HOST_PATH") ?? "dotnet")
        {
            WorkingDirectory = folder,
            RedirectStandardOutput = true,
            RedirectStandardError = true,
        };
        foreach (string argument in arguments) start.ArgumentList.Add(argument);
        start.Environment["DOTNET_CLI_TELEMETRY_OPTOUT"] = "1";
        start.Environment["DOTNET_NOLOGO"] = "1";
        start.Environment["MSBUILDDISABLENODEREUSE"] = "1";
        using var process = Process.Start(start)!;
        var error = process.StandardError.ReadToEndAsync();
        string output = process.StandardOutput.ReadToEnd();
        process.WaitForExit();
        Assert.True(process.ExitCode == 0, $"dotnet {string.Join(' ', arguments)} failed ({process.ExitCode}):\n{output}\n{error.Result}");
        return output;
    }
}
