namespace MusicGen.Loaders;

/// <summary>Writes a file under a temporary name in the same folder, then renames it into place.</summary>
public static class AtomicFile
{
    public static void Write(string path, Action<Stream> write) =>
        // Completes synchronously: nothing in the shared body awaits anything that is not already done.
        WriteAsync(path, stream =>
        {
            write(stream);
            return Task.CompletedTask;
        }).GetAwaiter().GetResult();

    public static async Task WriteAsync(string path, Func<Stream, Task> write)
    {
        string fullPath = Path.GetFullPath(path);
        string? folder = Path.GetDirectoryName(fullPath);
        if (folder is not null && !Directory.Exists(folder))
            throw new MusicGenException($"{path}: the folder {folder} does not exist");
        string temporary = fullPath + $".tmp-{Environment.ProcessId}-{Guid.NewGuid():N}";
        try
        {
            using (var stream = new FileStream(temporary, FileMode.CreateNew, FileAccess.Write, FileShare.None))
            {
                await write(stream);
            }
            File.Move(temporary, fullPath, overwrite: true);
        }
        catch
        {
            try { File.Delete(temporary); } catch (IOException) { }
            throw;
        }
    }
}
