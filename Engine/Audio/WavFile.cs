using MusicGen.Loaders;

namespace MusicGen.Engine.Audio;

/// <summary>
/// Reads and writes WAV files. Every problem with a file, from a missing file to a malformed header, is reported as a
/// <see cref="MusicGenException"/> naming the file.
/// </summary>
public static class WavFile
{
    /// <summary>Reads a WAV file; one longer than <paramref name="maxSeconds"/> is refused from its header.</summary>
    public static AudioClip Read(string path, double maxSeconds = AudioFile.DefaultMaxSeconds)
    {
        using var stream = InputFile.OpenRead(path, FileOptions.SequentialScan);
        return Read(stream, path, maxSeconds);
    }

    /// <summary>Reads a WAV file from <paramref name="stream"/>'s current position; <paramref name="displayName"/> names it in errors.</summary>
    public static AudioClip Read(Stream stream, string displayName, double maxSeconds = AudioFile.DefaultMaxSeconds)
    {
        try
        {
            if (stream.CanSeek) return WavReader.Read(stream, displayName, maxSeconds);
            // Chunks may come in any order, so a pipe is buffered whole to be walked like a file.
            using var buffered = new MemoryStream();
            stream.CopyTo(buffered);
            buffered.Position = 0;
            return WavReader.Read(buffered, displayName, maxSeconds);
        }
        catch (IOException e)
        {
            throw new MusicGenException($"{displayName}: read failed: {e.Message}", e);
        }
    }

    /// <summary>Writes <paramref name="clip"/> to <paramref name="path"/> through a temporary file, so a failure never leaves half a file.</summary>
    public static void Write(string path, AudioClip clip, WavSampleFormat format) =>
        Write(path, stream => WavWriter.Write(stream, clip, format, path));

    /// <summary>
    /// Writes a WAV file with <paramref name="write"/>, which puts the header and samples on the stream as they come
    /// (see <see cref="WavWriter"/>), through a temporary file as above.
    /// </summary>
    public static void Write(string path, Action<Stream> write)
    {
        try
        {
            AtomicFile.Write(path, write);
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException)
        {
            throw new MusicGenException($"{path}: cannot write: {e.Message}", e);
        }
    }

    public static void Write(Stream stream, AudioClip clip, WavSampleFormat format) =>
        WavWriter.Write(stream, clip, format, "WAV output");
}
