using System.Runtime.InteropServices;
using Microsoft.Win32.SafeHandles;

namespace MusicGen.Loaders;

/// <summary>
/// Opens every file the tools read (configs, weights, shards, index, tokenizer, audio, codes). Only a regular file,
/// or a symbolic link to one, is opened: a FIFO would block forever, a device such as /dev/zero never ends, and a
/// folder or a socket cannot be read; each is a <see cref="MusicGenException"/> naming the path instead. Whole-file
/// reads (text, JSON, protobuf) are refused beyond a size limit before anything is read.
/// </summary>
public static class InputFile
{
    /// <summary>The most a JSON or protobuf file is allowed to hold (the largest real one, tokenizer.json, has 2.4 MB).</summary>
    public const long TextLimit = 64L << 20;

    /// <summary>Throws unless <paramref name="path"/> is a regular file or a symbolic link to one.</summary>
    public static void RequireRegular(string path)
    {
        switch (KindOf(path))
        {
            case FileKind.Regular: return;
            case FileKind.Missing: throw new MusicGenException($"{path}: file not found");
            case FileKind.Folder: throw new MusicGenException($"{path}: is a folder, not a file");
            case var other: throw new MusicGenException($"{path}: is a {Describe(other)}, not a regular file");
        }
    }

    /// <summary>Whether <paramref name="path"/> is a regular file or a symbolic link to one.</summary>
    public static bool IsRegular(string path) => KindOf(path) == FileKind.Regular;

    /// <summary>A read-only stream on a regular file.</summary>
    public static FileStream OpenRead(string path, FileOptions options = FileOptions.None)
    {
        RequireRegular(path);
        return Guard(path, () => new FileStream(path, FileMode.Open, FileAccess.Read, FileShare.Read, 1 << 16, options));
    }

    /// <summary>A read-only handle on a regular file, for positional reads.</summary>
    public static SafeFileHandle OpenHandle(string path)
    {
        RequireRegular(path);
        return Guard(path, () => File.OpenHandle(path, FileMode.Open, FileAccess.Read, FileShare.Read));
    }

    /// <summary>The whole contents of a regular file of at most <paramref name="limit"/> bytes.</summary>
    public static byte[] ReadAllBytes(string path, long limit = TextLimit)
    {
        using var handle = OpenHandle(path);
        return Guard(path, () =>
        {
            long length = RandomAccess.GetLength(handle);
            if (length > limit)
                throw new MusicGenException($"{path}: {ByteSize.Format(length)} is more than such a file can hold (at most {ByteSize.Format(limit)})");
            var bytes = new byte[length];
            int filled = 0;
            while (filled < bytes.Length)
            {
                int read = RandomAccess.Read(handle, bytes.AsSpan(filled), filled);
                if (read == 0) throw new MusicGenException($"{path}: the file shrank while it was read");
                filled += read;
            }
            return bytes;
        });
    }

    /// <summary>Runs an I/O step, reporting an I/O or permission failure as a one-line error naming the file.</summary>
    private static T Guard<T>(string path, Func<T> step)
    {
        try
        {
            return step();
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException)
        {
            throw new MusicGenException($"{path}: cannot read: {e.Message}", e);
        }
    }

    internal enum FileKind { Missing, Regular, Folder, Fifo, CharacterDevice, BlockDevice, Socket, Other }

    internal static string Describe(FileKind kind) => kind switch
    {
        FileKind.Fifo => "FIFO (named pipe)",
        FileKind.CharacterDevice => "character device",
        FileKind.BlockDevice => "block device",
        FileKind.Socket => "socket",
        _ => "special file",
    };

    /// <summary>What the path names, following symbolic links.</summary>
    internal static FileKind KindOf(string path)
    {
        if (path.Length == 0 || path.Contains('\0')) return FileKind.Missing;
        if (OperatingSystem.IsWindows())
        {
            if (Directory.Exists(path)) return FileKind.Folder;
            if (!File.Exists(path)) return FileKind.Missing;
            return (File.GetAttributes(path) & FileAttributes.Device) != 0 ? FileKind.CharacterDevice : FileKind.Regular;
        }
        // .NET exposes no file type beyond "folder or not", so stat(2) is asked through the runtime's own native
        // shim, whose FileStatus layout (int32 flags, then int32 mode with normalised S_IF* bits) is the same on
        // every Unix the runtime supports.
        Span<byte> status = stackalloc byte[256];
        if (NativeStat(path, ref MemoryMarshal.GetReference(status)) != 0) return FileKind.Missing;
        int mode = BitConverter.ToInt32(status[4..8]);
        return (mode & 0xF000) switch
        {
            0x8000 => FileKind.Regular,
            0x4000 => FileKind.Folder,
            0x1000 => FileKind.Fifo,
            0x2000 => FileKind.CharacterDevice,
            0x6000 => FileKind.BlockDevice,
            0xC000 => FileKind.Socket,
            _ => FileKind.Other,
        };
    }

    [DllImport("libSystem.Native", EntryPoint = "SystemNative_Stat")]
    private static extern int NativeStat([MarshalAs(UnmanagedType.LPUTF8Str)] string path, ref byte status);
}
