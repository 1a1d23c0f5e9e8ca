using MusicGen.Engine.Audio;
using MusicGen.Loaders;

namespace MusicGen.Cli;

/// <summary>
/// Where a command's audio goes and in what form: the format its file's extension names (or, for standard output,
/// the one <c>--out-format</c> names, WAV by default), and the sample format <c>--format</c> asks for where that
/// format has a choice. Resolved and checked (ffmpeg installed for MP3 and AAC) before any long work.
/// </summary>
public sealed record AudioOutput(AudioFormat Format, SampleFormat? SampleFormat)
{
    /// <summary>The output name that streams to standard output.</summary>
    public const string StandardOutput = "-";

    public static AudioOutput Resolve(string path, SampleFormat? asked, string? streamFormat = null)
    {
        AudioFormat format;
        if (path == StandardOutput)
        {
            format = streamFormat is null ? AudioFormat.Wav : AudioFormat.FromName(streamFormat)!;
            if (!format.CanStream) throw new MusicGenException($"--out-format {streamFormat}: {format.Description} cannot be written while it is generated; write it to a file");
        }
        else
        {
            if (streamFormat is not null) throw new MusicGenException("--out-format goes with --out -; a file's extension names its format");
            format = AudioFormat.FromPath(path, "--out");
        }
        var sampleFormat = format.ResolveSampleFormat(asked);
        format.RequireEncoder(path == StandardOutput ? "standard output" : path);
        return new AudioOutput(format, sampleFormat);
    }
}
