using System.Globalization;
using MusicGen.Loaders;

namespace MusicGen.Server;

/// <summary>
/// Where the server keeps its short-lived files (uploads until they are decoded, codes until they are sent):
/// <c>TMP/musicgen-serve/PID/</c>, one folder per server process, so that a server killed outright (SIGKILL, the OOM
/// killer) leaves a folder that the next server to start recognises and removes.
/// </summary>
public static class ServerTempFolder
{
    private static string Root => Path.Combine(Path.GetTempPath(), "musicgen-serve");

    /// <summary>This process's folder, created when needed.</summary>
    public static string Create() => Directory.CreateDirectory(Path.Combine(Root, Environment.ProcessId.ToString(CultureInfo.InvariantCulture))).FullName;

    /// <summary>Removes the folders of server processes that no longer run.</summary>
    public static void RemoveStale()
    {
        if (!Directory.Exists(Root)) return;
        foreach (string folder in Directory.EnumerateDirectories(Root))
            if (int.TryParse(Path.GetFileName(folder), NumberStyles.None, CultureInfo.InvariantCulture, out int pid)
                && pid != Environment.ProcessId && !AtomicFile.IsRunning(pid))
                try { Directory.Delete(folder, recursive: true); } catch (Exception e) when (e is IOException or UnauthorizedAccessException) { }
    }
}
