namespace MusicGen.Loaders;

/// <summary>
/// Checks a place the tools are about to write, before any long work starts: its folder exists and can be written,
/// it is not a folder, and it is not an existing special file (a device, a FIFO, a socket, or a symbolic link to
/// one), which writing through a rename would replace. A symbolic link to a file is written through, as shells and
/// ffmpeg do: the file written is the link's final target (<see cref="Target"/>), and the link stays.
/// </summary>
public static class OutputPath
{
    /// <summary>Throws a <see cref="MusicGenException"/> naming <paramref name="option"/> unless <paramref name="path"/> can be written.</summary>
    public static void Check(string path, string option = "output")
    {
        if (string.IsNullOrWhiteSpace(path)) throw new MusicGenException($"{option} is empty; give a file name");
        if (path.Contains('\0')) throw new MusicGenException($"{option}: a file name cannot contain a NUL character");
        switch (InputFile.KindOf(path))
        {
            case InputFile.FileKind.Missing or InputFile.FileKind.Regular: break;
            case InputFile.FileKind.Folder: throw new MusicGenException($"{path}: is a folder; {option} names a file");
            case var special: throw new MusicGenException($"{path}: is a {InputFile.Describe(special)}; it is never replaced, choose a regular file name for {option}");
        }
        string target = Target(path);
        string folder = Path.GetDirectoryName(target) ?? target;
        if (!Directory.Exists(folder)) throw new MusicGenException($"{path}: the folder {folder} does not exist");
        string probe = AtomicFile.TemporaryPathOf(target);
        try
        {
            // Whether the folder takes a new file is only known by creating one; it is the same name the write will use.
            using (new FileStream(probe, FileMode.Create, FileAccess.Write, FileShare.None)) { }
            File.Delete(probe);
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException)
        {
            throw new MusicGenException($"{path}: cannot write in {folder} ({e.Message})");
        }
    }

    /// <summary>
    /// The full path of the file a write to <paramref name="path"/> replaces: the path itself, or for a symbolic link
    /// (or a chain of them, even one whose last target does not exist yet) its final target.
    /// </summary>
    public static string Target(string path)
    {
        var file = new FileInfo(Path.GetFullPath(path));
        if (file.LinkTarget is null) return file.FullName;
        try
        {
            return file.ResolveLinkTarget(returnFinalTarget: true)?.FullName ?? file.FullName;
        }
        catch (IOException e)
        {
            throw new MusicGenException($"{path}: cannot follow the symbolic link ({e.Message})");
        }
    }
}
