using MusicGen.Engine.Audio;
using MusicGen.Server.Jobs;

namespace MusicGen.Server.Api;

/// <summary>
/// How a piece's audio goes out: a file format (<see cref="AudioFormat"/>, with a sample format where it has a
/// choice) or raw PCM. Opens the writer the response streams through.
/// </summary>
internal sealed record AudioEncoding(string Name, string MediaType, string Extension, bool NeedsFfmpeg, int? WavBytesPerSample,
    Func<Stream, int, int, long?, AudioWriter> Open)
{
    /// <summary>The formats the <c>format</c> parameter names (m4a is left out: its index goes in front, so it cannot be streamed).</summary>
    public const string Names = "wav, flac, opus, mp3 or aac (or pcm16 / float32: a WAV of those samples)";

    public static AudioEncoding Of(AudioFormat format, SampleFormat? sampleFormat = null) =>
        new(format.Name, format.MediaType, format.Extensions[0], format.NeedsFfmpeg,
            format == AudioFormat.Wav ? (format.ResolveSampleFormat(sampleFormat)!.Value.Bits() / 8) : null,
            (stream, sampleRate, channels, frames) => format.OpenWriter(stream, sampleRate, channels, sampleFormat, frames, "the generated audio"));

    /// <summary>OpenAI's pcm: raw 16-bit little-endian samples, mono at 24 kHz.</summary>
    public static AudioEncoding Pcm { get; } = new("pcm", "audio/pcm", ".pcm", NeedsFfmpeg: false, WavBytesPerSample: null,
        (stream, sampleRate, channels, _) => new RawPcmWriter(stream, sampleRate, channels));

    /// <summary>The <c>format</c>s a stream plays in: those whose writer needs no length ahead and no ffmpeg.</summary>
    public const string StreamNames = "wav (pcm16, the default, or float32) or opus";

    /// <summary>Whether a stream without end can be played in this encoding (a WAV of unknown length, or Ogg Opus).</summary>
    public bool PlaysEndless => WavBytesPerSample is not null || Name == AudioFormat.Opus.Name;

    /// <summary>The encoding a <c>format</c> parameter names, pcm16 (the default, as before formats were added) when none; null for an unknown name.</summary>
    public static AudioEncoding? FromName(string? name) => (name ?? "pcm16").ToLowerInvariant() switch
    {
        "pcm16" => Of(AudioFormat.Wav, SampleFormat.Pcm16),
        "float32" => Of(AudioFormat.Wav, SampleFormat.Float32),
        "wav" => Of(AudioFormat.Wav, SampleFormat.Pcm16),
        "m4a" => null,
        var other => AudioFormat.FromName(other) is { CanStream: true } format ? Of(format) : null,
    };

    /// <summary>The encoding an <c>Accept</c> header's media type names (audio/wav, audio/flac, audio/ogg, audio/mpeg, audio/aac), or null.</summary>
    public static AudioEncoding? FromMediaType(string mediaType) => mediaType.ToLowerInvariant() switch
    {
        "audio/wav" or "audio/x-wav" or "audio/wave" => Of(AudioFormat.Wav, SampleFormat.Pcm16),
        "audio/opus" => Of(AudioFormat.Opus),
        var other => AudioFormat.All.FirstOrDefault(f => f.CanStream && f.MediaType == other) is { } format ? Of(format) : null,
    };

    /// <summary>A refusal naming <paramref name="field"/> when this encoding needs ffmpeg and the server has none; checked before any work.</summary>
    public RequestProblem? Unavailable(string field) => NeedsFfmpeg && FfmpegDecoder.FromEnvironment().Executable is null
        ? new RequestProblem(StatusCodes.Status400BadRequest, field,
            $"{Name} needs ffmpeg, which this server does not have (not found on its PATH); ask for wav, flac or opus")
        : null;
}
