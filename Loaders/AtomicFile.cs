using System.Collections.Concurrent;
using System.Diagnostics;
using System.Runtime.InteropServices;

namespace MusicGen.Loaders;

/// <summary>
/// Writes a file under a temporary name in the same folder, then renames it into place, so that a failure never
/// leaves half a file. The temporary name, <c>.NAME.musicgen-tmp-PID</c>, says whose it is: temporary files are
/// removed when the process is stopped by Ctrl-C or SIGTERM, and those of a process that no longer runs (killed
/// outright) are removed by the next write of the same file. Inside a <see cref="Group"/>, the renames wait for
/// <see cref="Group.Commit"/>, so that the outputs of one command appear all together or not at all. A symbolic
/// link is written through: the temporary file goes beside its final target, which the rename replaces.
/// </summary>
public static class AtomicFile
{
    private const string Marker = ".musicgen-tmp-";
    private static readonly ConcurrentDictionary<string, byte> Pending = new(StringComparer.Ordinal);
    private static readonly AsyncLocal<Group?> CurrentGroup = new();
    private static readonly PosixSignalRegistration[] SignalCleanups = RegisterSignalCleanups();

    public static void Write(string path, Action<Stream> write) =>
        // Completes synchronously: nothing in the shared body awaits anything that is not already done.
        WriteAsync(path, stream =>
        {
            write(stream);
            return Task.CompletedTask;
        }).GetAwaiter().GetResult();

    public static async Task WriteAsync(string path, Func<Stream, Task> write)
    {
        OutputPath.Check(path);
        string fullPath = OutputPath.Target(path);
        RemoveStaleTemporaries(fullPath);
        string temporary = TemporaryPathOf(fullPath);
        Pending[temporary] = 0;
        try
        {
            using (var stream = new FileStream(temporary, FileMode.Create, FileAccess.Write, FileShare.None))
            {
                await write(stream);
            }
            PausePoint.Reach("output-written"); // written in full, not yet in place
            if (CurrentGroup.Value is { } group) group.Add(temporary, fullPath);
            else Publish(temporary, fullPath);
        }
        catch
        {
            Discard(temporary);
            throw;
        }
    }

    /// <summary>The temporary name this process writes <paramref name="fullPath"/> under.</summary>
    internal static string TemporaryPathOf(string fullPath) =>
        Path.Combine(Path.GetDirectoryName(fullPath)!, $".{Path.GetFileName(fullPath)}{Marker}{Environment.ProcessId}");

    /// <summary>
    /// Starts a group: until it is committed, files written on this flow of execution stay under their temporary
    /// names; disposing it uncommitted removes them.
    /// </summary>
    public static Group BeginGroup() => CurrentGroup.Value = new Group();

    /// <summary>Files written together: renamed into place by <see cref="Commit"/>, removed if the group is disposed first.</summary>
    public sealed class Group : IDisposable
    {
        private readonly List<(string Temporary, string Target)> _files = new();

        internal void Add(string temporary, string target)
        {
            lock (_files) _files.Add((temporary, target));
        }

        /// <summary>Renames every file written in the group into place.</summary>
        public void Commit()
        {
            lock (_files)
            {
                foreach (var (temporary, target) in _files) Publish(temporary, target);
                _files.Clear();
            }
        }

        public void Dispose()
        {
            lock (_files)
            {
                foreach (var (temporary, _) in _files) Discard(temporary);
                _files.Clear();
            }
            if (CurrentGroup.Value == this) CurrentGroup.Value = null;
        }
    }

    private static void Publish(string temporary, string target)
    {
        File.Move(temporary, target, overwrite: true);
        Pending.TryRemove(temporary, out _);
    }

    private static void Discard(string temporary)
    {
        try { File.Delete(temporary); } catch (Exception e) when (e is IOException or UnauthorizedAccessException) { }
        Pending.TryRemove(temporary, out _);
    }

    /// <summary>Removes the temporary files of <paramref name="fullPath"/> left by processes that no longer run.</summary>
    private static void RemoveStaleTemporaries(string fullPath)
    {
        string folder = Path.GetDirectoryName(fullPath)!;
        string prefix = $".{Path.GetFileName(fullPath)}{Marker}";
        IEnumerable<string> candidates;
        try
        {
            candidates = Directory.EnumerateFiles(folder, prefix + "*").ToList();
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException)
        {
            return;
        }
        foreach (string candidate in candidates)
            if (int.TryParse(Path.GetFileName(candidate)[prefix.Length..], out int pid) && pid != Environment.ProcessId && !IsRunning(pid))
                try { File.Delete(candidate); } catch (Exception e) when (e is IOException or UnauthorizedAccessException) { }
    }

    /// <summary>Whether process <paramref name="pid"/>, the owner named in a temporary file or folder, still runs.</summary>
    public static bool IsRunning(int pid)
    {
        try
        {
            using var process = Process.GetProcessById(pid);
            return !process.HasExited;
        }
        catch (Exception e) when (e is ArgumentException or InvalidOperationException)
        {
            return false;
        }
    }

    /// <summary>On Ctrl-C, SIGTERM or SIGHUP, the temporary files go first; then the signal ends the process as usual.</summary>
    private static PosixSignalRegistration[] RegisterSignalCleanups()
    {
        if (OperatingSystem.IsBrowser()) return [];
        PosixSignal[] signals = OperatingSystem.IsWindows()
            ? [PosixSignal.SIGINT, PosixSignal.SIGTERM]
            : [PosixSignal.SIGINT, PosixSignal.SIGTERM, PosixSignal.SIGHUP];
        return signals.Select(signal => PosixSignalRegistration.Create(signal, _ =>
        {
            foreach (string temporary in Pending.Keys) Discard(temporary);
        })).ToArray();
    }
}
