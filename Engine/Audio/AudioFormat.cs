using MusicGen.Engine.Audio.Flac;
using MusicGen.Engine.Audio.Ogg;
using MusicGen.Loaders;

namespace MusicGen.Engine.Audio;

/// <summary>
/// A file format audio is written in, found by a file's extension or by name (as an HTTP API names it): WAV,
/// FLAC and Opus in Ogg are encoded here; MP3 and AAC (raw ADTS, or in an M4A container) by ffmpeg. Each says
/// which sample formats it can hold, whether it can be written to a pipe while the audio is generated, and opens a
/// writer that takes the audio chunk by chunk.
/// </summary>
public sealed class AudioFormat
{
    private readonly Func<Stream, int, int, SampleFormat?, long?, string, AudioWriter> _open;

    private AudioFormat(string name, string description, string[] extensions, string mediaType, SampleFormat[] sampleFormats,
        bool canStream, bool needsFfmpeg, Func<Stream, int, int, SampleFormat?, long?, string, AudioWriter> open)
    {
        (Name, Description, Extensions, MediaType, SampleFormats, CanStream, NeedsFfmpeg, _open) =
            (name, description, extensions, mediaType, sampleFormats, canStream, needsFfmpeg, open);
    }

    /// <summary>The short name, as <c>--out-format</c> and API requests give it: wav, flac, opus, mp3, aac, m4a.</summary>
    public string Name { get; }

    /// <summary>How messages name it: "FLAC", "Opus in Ogg", ….</summary>
    public string Description { get; }

    /// <summary>The file extensions that choose it, the usual one first.</summary>
    public IReadOnlyList<string> Extensions { get; }

    /// <summary>The media type to serve it as.</summary>
    public string MediaType { get; }

    /// <summary>The sample formats it holds, its default first; empty where the codec decides (lossy formats).</summary>
    public IReadOnlyList<SampleFormat> SampleFormats { get; }

    /// <summary>Whether it can be written to a stream that cannot seek while the audio arrives (standard output, an HTTP response).</summary>
    public bool CanStream { get; }

    /// <summary>Whether ffmpeg encodes it (MP3, AAC).</summary>
    public bool NeedsFfmpeg { get; }

    public static AudioFormat Wav { get; } = new("wav", "WAV", [".wav"], "audio/wav", [SampleFormat.Float32, SampleFormat.Pcm16, SampleFormat.Pcm24],
        canStream: true, needsFfmpeg: false, (stream, rate, channels, format, frames, _) => new WavStreamWriter(stream, rate, channels, format ?? SampleFormat.Float32, frames));

    public static AudioFormat Flac { get; } = new("flac", "FLAC", [".flac"], "audio/flac", [SampleFormat.Pcm24, SampleFormat.Pcm16],
        canStream: true, needsFfmpeg: false, (stream, rate, channels, format, frames, name) => new FlacWriter(stream, rate, channels, format ?? SampleFormat.Pcm24, frames, name));

    public static AudioFormat Opus { get; } = new("opus", "Opus in Ogg", [".opus", ".ogg"], "audio/ogg", [],
        canStream: true, needsFfmpeg: false, (stream, rate, channels, _, _, name) => new OpusWriter(stream, rate, channels, name));

    public static AudioFormat Mp3 { get; } = new("mp3", "MP3", [".mp3"], "audio/mpeg", [],
        canStream: true, needsFfmpeg: true, (stream, rate, channels, _, _, name) => new FfmpegEncoder(stream, rate, channels, FfmpegEncoder.Mp3, name));

    public static AudioFormat Aac { get; } = new("aac", "AAC (ADTS)", [".aac"], "audio/aac", [],
        canStream: true, needsFfmpeg: true, (stream, rate, channels, _, _, name) => new FfmpegEncoder(stream, rate, channels, FfmpegEncoder.Adts, name));

    public static AudioFormat M4a { get; } = new("m4a", "AAC in M4A", [".m4a"], "audio/mp4", [],
        canStream: false, needsFfmpeg: true, (stream, rate, channels, _, _, name) => new FfmpegEncoder(stream, rate, channels, FfmpegEncoder.M4a, name));

    public static IReadOnlyList<AudioFormat> All { get; } = [Wav, Flac, Opus, Mp3, Aac, M4a];

    /// <summary>".wav, .flac, .opus, .ogg, …": the extensions that can be written, for messages.</summary>
    public static string KnownExtensions => string.Join(", ", All.SelectMany(f => f.Extensions));

    /// <summary>The format a file name's extension chooses, or null.</summary>
    public static AudioFormat? FromExtension(string path)
    {
        string extension = Path.GetExtension(path);
        return All.FirstOrDefault(f => f.Extensions.Contains(extension, StringComparer.OrdinalIgnoreCase));
    }

    /// <summary>The format of <paramref name="path"/>'s extension, or an error naming <paramref name="option"/> and the extensions there are.</summary>
    public static AudioFormat FromPath(string path, string option = "output") =>
        FromExtension(path) ?? throw new MusicGenException($"{option} '{path}': the extension names no audio format this writes ({KnownExtensions})");

    /// <summary>The format of a name (wav, flac, opus, mp3, aac, m4a; any case, with or without a dot), or null.</summary>
    public static AudioFormat? FromName(string name)
    {
        string bare = name.TrimStart('.');
        return All.FirstOrDefault(f => f.Name.Equals(bare, StringComparison.OrdinalIgnoreCase))
            ?? All.FirstOrDefault(f => f.Extensions.Any(e => e[1..].Equals(bare, StringComparison.OrdinalIgnoreCase)));
    }

    /// <summary>
    /// The sample format to write: <paramref name="asked"/> when this format holds it, its default when none is
    /// asked; an error naming <paramref name="option"/> when it cannot hold what is asked.
    /// </summary>
    public SampleFormat? ResolveSampleFormat(SampleFormat? asked, string option = "--format")
    {
        if (asked is null) return SampleFormats.Count > 0 ? SampleFormats[0] : null;
        if (SampleFormats.Contains(asked.Value)) return asked;
        throw new InvalidRequestException(SampleFormats.Count == 0
            ? $"{option} {asked}: {Description} has no sample format to choose (its codec decides); leave {option} out"
            : $"{option} {asked}: {Description} holds {string.Join(" or ", SampleFormats)}");
    }

    /// <summary>
    /// Checks, before any long work, that this format can be written here: ffmpeg is installed for the formats it
    /// encodes. <paramref name="path"/> names the output in the message.
    /// </summary>
    public void RequireEncoder(string path)
    {
        if (NeedsFfmpeg && FfmpegDecoder.FromEnvironment().Executable is null)
            throw new MusicGenException(
                $"{path}: {Description} output needs ffmpeg, which is not installed (not found on PATH). Install it " +
                "(e.g. 'apt-get install ffmpeg', 'brew install ffmpeg', or from https://ffmpeg.org) or write .wav, .flac or .opus");
    }

    /// <summary>
    /// A writer of this format on <paramref name="stream"/> for audio of <paramref name="sampleRate"/> and
    /// <paramref name="channels"/>; <paramref name="frames"/>, when known, lets WAV and FLAC state the length in their
    /// header even on a stream that cannot seek.
    /// </summary>
    public AudioWriter OpenWriter(Stream stream, int sampleRate, int channels, SampleFormat? sampleFormat = null, long? frames = null, string? displayName = null)
    {
        var format = ResolveSampleFormat(sampleFormat);
        return _open(stream, sampleRate, channels, format, frames, displayName ?? $"{Description} output");
    }

    /// <summary>Writes a whole clip to <paramref name="stream"/>.</summary>
    public void Write(Stream stream, AudioClip clip, SampleFormat? sampleFormat = null, string? displayName = null)
    {
        using var writer = OpenWriter(stream, clip.SampleRate, clip.ChannelCount, sampleFormat, clip.Length, displayName);
        writer.Write(clip.Channels);
        writer.Finish();
    }

    public override string ToString() => Name;
}
