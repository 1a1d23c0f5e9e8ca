using System.Security.Cryptography;
using System.Text;
using MusicGen.Loaders;

namespace MusicGen.Kernels.OpenCl;

/// <summary>
/// Compiled program binaries on disk, one file per device name, driver version and program (source and build
/// options), so the driver compiles the kernels once rather than in every process. Each file starts with the
/// SHA-256 of the binary that follows, so a truncated or damaged file is never handed to a driver. The cache is
/// an optimization: any problem reading or writing it means building from source.
/// </summary>
internal sealed class ProgramBinaryCache
{
    private static readonly byte[] Magic = "MGCL1\n"u8.ToArray();

    public string Folder { get; }

    public ProgramBinaryCache(string folder) => Folder = folder;

    /// <summary>$XDG_CACHE_HOME/musicgen/opencl, or ~/.cache/musicgen/opencl.</summary>
    public static ProgramBinaryCache Default()
    {
        string? xdg = Environment.GetEnvironmentVariable("XDG_CACHE_HOME");
        string root = !string.IsNullOrEmpty(xdg) && Path.IsPathRooted(xdg)
            ? xdg
            : Path.Combine(Environment.GetFolderPath(Environment.SpecialFolder.UserProfile), ".cache");
        return new ProgramBinaryCache(Path.Combine(root, "musicgen", "opencl"));
    }

    /// <summary>The file for this device and program.</summary>
    public string PathFor(OpenClDevice device, string programHash)
    {
        string key = $"{device.Platform}\n{device.Name}\n{device.DriverVersion}\n{programHash}";
        return Path.Combine(Folder, Convert.ToHexStringLower(SHA256.HashData(Encoding.UTF8.GetBytes(key))) + ".bin");
    }

    /// <summary>The cached binary, or null when there is none or it is unreadable or damaged.</summary>
    public static byte[]? TryRead(string path)
    {
        byte[] file;
        try
        {
            if (!File.Exists(path)) return null;
            file = File.ReadAllBytes(path);
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException)
        {
            return null;
        }
        int header = Magic.Length + SHA256.HashSizeInBytes;
        if (file.Length <= header || !file.AsSpan(0, Magic.Length).SequenceEqual(Magic)) return null;
        var binary = file[header..];
        return SHA256.HashData(binary).AsSpan().SequenceEqual(file.AsSpan(Magic.Length, SHA256.HashSizeInBytes)) ? binary : null;
    }

    /// <summary>Stores the binary atomically (readers see the old file or the whole new one); returns false when the folder is unusable.</summary>
    public static bool TryWrite(string path, byte[] binary)
    {
        try
        {
            Directory.CreateDirectory(Path.GetDirectoryName(path)!);
            AtomicFile.Write(path, stream =>
            {
                stream.Write(Magic);
                stream.Write(SHA256.HashData(binary));
                stream.Write(binary);
            });
            return true;
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException or MusicGenException)
        {
            return false;
        }
    }
}
