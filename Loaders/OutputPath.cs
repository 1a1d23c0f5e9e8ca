namespace MusicGen.Loaders;

/// <summary>
/// Checks a place the tools are about to write, before any long work starts: its folder exists and can be written,
/// it is not a folder, and it is not an existing special file (a device, a FIFO, a socket, or a symbolic link to
/// one), which writing through a rename would replace.
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
        string folder = Path.GetDirectoryName(Path.GetFullPath(path)) ?? Path.GetFullPath(path);
        if (!Directory.Exists(folder)) throw new MusicGenException($"{path}: the folder {folder} does not exist");
        string probe = AtomicFile.TemporaryPathOf(Path.GetFullPath(path));
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
}
