using MusicGen.Loaders;

namespace MusicGen.Engine.Audio;

/// <summary>
/// Reads WAV files. Every problem with a file, from a missing file to a malformed header, is reported as a
/// <see cref="MusicGenException"/> naming the file.
/// </summary>
public static class WavFile
{
    public static AudioClip Read(string path)
    {
        FileStream stream;
        try
        {
            stream = new FileStream(path, FileMode.Open, FileAccess.Read, FileShare.Read, 1 << 16, FileOptions.SequentialScan);
        }
        catch (Exception e) when (e is FileNotFoundException or DirectoryNotFoundException)
        {
            throw new MusicGenException($"{path}: file not found", e);
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException)
        {
            throw new MusicGenException($"{path}: cannot open: {e.Message}", e);
        }
        using (stream) return Read(stream, path);
    }

    /// <summary>Reads a WAV file from <paramref name="stream"/>'s current position; <paramref name="displayName"/> names it in errors.</summary>
    public static AudioClip Read(Stream stream, string displayName)
    {
        try
        {
            if (stream.CanSeek) return WavReader.Read(stream, displayName);
            // Chunks may come in any order, so a pipe is buffered whole to be walked like a file.
            var buffered = new MemoryStream();
            stream.CopyTo(buffered);
            buffered.Position = 0;
            return WavReader.Read(buffered, displayName);
        }
        catch (IOException e)
        {
            throw new MusicGenException($"{displayName}: read failed: {e.Message}", e);
        }
    }
}
