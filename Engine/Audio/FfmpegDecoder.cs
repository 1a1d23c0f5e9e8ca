using System.ComponentModel;
using System.Diagnostics;
using System.Text.RegularExpressions;
using MusicGen.Loaders;

namespace MusicGen.Engine.Audio;

/// <summary>
/// Decodes any audio file ffmpeg can read (mp3, flac, ogg, m4a, opus, …) by running the <c>ffmpeg</c> command
/// found on a search path and reading the 32-bit float WAV it writes to its standard output. The file keeps its
/// sample rate and channels.
/// </summary>
public sealed partial class FfmpegDecoder
{
    /// <summary>The ffmpeg executable, or null when none is on the search path.</summary>
    public string? Executable { get; }

    /// <param name="searchPath">Folders to look for ffmpeg in, separated as in PATH.</param>
    public FfmpegDecoder(string? searchPath) => Executable = Find(searchPath ?? "");

    /// <summary>The decoder that uses the ffmpeg on this process's PATH.</summary>
    public static FfmpegDecoder FromEnvironment() => new(Environment.GetEnvironmentVariable("PATH"));

    /// <summary>The file decoded by ffmpeg, which stops a second after <paramref name="maxSeconds"/> so that memory stays bounded.</summary>
    public AudioClip Decode(string path, double maxSeconds = AudioFile.DefaultMaxSeconds)
    {
        string format = FormatName(path);
        if (Executable is null)
            throw new MusicGenException(
                $"{path}: {format} files need ffmpeg, which is not installed (not found on PATH). Install it " +
                "(e.g. 'apt-get install ffmpeg', 'brew install ffmpeg', or from https://ffmpeg.org) or convert the file to WAV.");

        var start = new ProcessStartInfo(Executable)
        {
            RedirectStandardOutput = true,
            RedirectStandardError = true,
            UseShellExecute = false,
        };
        string limit = (maxSeconds + 1).ToString(System.Globalization.CultureInfo.InvariantCulture);
        foreach (string argument in (string[])["-nostdin", "-v", "error", "-i", "file:" + Path.GetFullPath(path), "-t", limit, "-f", "wav", "-acodec", "pcm_f32le", "-"])
            start.ArgumentList.Add(argument);

        Process process;
        try
        {
            process = Process.Start(start) ?? throw new MusicGenException($"{path}: could not start ffmpeg ({Executable})");
        }
        catch (Win32Exception e)
        {
            throw new MusicGenException($"{path}: could not run ffmpeg ({Executable}): {e.Message}", e);
        }
        using (process)
        {
            // Both pipes are drained at once: ffmpeg blocks if either fills up.
            Task<string> errors = process.StandardError.ReadToEndAsync();
            var wav = new MemoryStream();
            process.StandardOutput.BaseStream.CopyTo(wav);
            process.WaitForExit();
            if (process.ExitCode != 0 || wav.Length == 0)
                throw new MusicGenException($"{path}: ffmpeg could not decode this {format} file: {FirstLine(errors.Result, process.ExitCode)}");
            wav.Position = 0;
            return WavFile.Read(wav, path, maxSeconds + 1);
        }
    }

    /// <summary>"MP3" for song.mp3: how the messages name a file's format.</summary>
    private static string FormatName(string path)
    {
        string extension = Path.GetExtension(path).TrimStart('.');
        return extension.Length == 0 ? "non-WAV" : extension.ToUpperInvariant();
    }

    internal static string? Find(string searchPath)
    {
        string name = OperatingSystem.IsWindows() ? "ffmpeg.exe" : "ffmpeg";
        return searchPath.Split(Path.PathSeparator, StringSplitOptions.RemoveEmptyEntries)
            .Select(folder => Path.Combine(folder, name))
            .FirstOrDefault(File.Exists);
    }

    /// <summary>ffmpeg's first error line, without the "@ 0x55f6…" address it puts in a component's name.</summary>
    internal static string FirstLine(string errors, int exitCode)
    {
        string? line = errors.Split('\n', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries).FirstOrDefault();
        return line is null ? $"it exited with code {exitCode} and no message" : ComponentAddress().Replace(line, "[$1]");
    }

    [GeneratedRegex(@"\[([^\]@]+?) @ 0x[0-9a-fA-F]+\]")]
    private static partial Regex ComponentAddress();
}
