using MusicGen.Engine.Tensors;
using MusicGen.Loaders;

namespace MusicGen.Engine.Audio;

/// <summary>
/// Reads audio files of any format: WAV natively, everything else through ffmpeg (<see cref="FfmpegDecoder"/>).
/// Problems are reported as <see cref="MusicGenException"/>s naming the file.
/// </summary>
public static class AudioFile
{
    /// <summary>The longest audio read unless a caller asks for less: an hour.</summary>
    public const double DefaultMaxSeconds = 3600;

    /// <summary>
    /// The lowest sample rate taken as audio (telephone audio is 8000 Hz): a file claiming 1 Hz is 32000 times longer
    /// once resampled to the codec's rate, so its few bytes would cost gigabytes.
    /// </summary>
    public const int MinSampleRate = 1000;

    /// <summary>The file at its own sample rate and channels.</summary>
    public static AudioClip Read(string path, double maxSeconds = DefaultMaxSeconds) => Read(path, FfmpegDecoder.FromEnvironment(), maxSeconds);

    /// <summary>
    /// The file at its own sample rate and channels, decoding non-WAV formats with <paramref name="decoder"/>. Audio
    /// longer than <paramref name="maxSeconds"/> is refused (a WAV file from its header, before its samples are read;
    /// another format after decoding at most a second more), and so is audio holding NaN or infinity; any problem is
    /// an <see cref="InputFileException"/>.
    /// </summary>
    public static AudioClip Read(string path, FfmpegDecoder decoder, double maxSeconds = DefaultMaxSeconds) => MusicGenException.Refine(() =>
    {
        InputFile.RequireRegular(path);
        var clip = Path.GetExtension(path).Equals(".wav", StringComparison.OrdinalIgnoreCase)
            ? WavFile.Read(path, maxSeconds)
            : decoder.Decode(path, maxSeconds);
        if (clip.Seconds > maxSeconds) throw TooLong(path, clip.Seconds, maxSeconds);
        if (clip.SampleRate < MinSampleRate)
            throw new MusicGenException($"{path}: the audio is at {clip.SampleRate} Hz; audio below {MinSampleRate} Hz is not supported");
        foreach (var channel in clip.Channels) FiniteCheck.Require(channel, $"{path}: the audio");
        return clip;
    }, e => new InputFileException(e.Message, e));

    /// <summary>
    /// The file as a source read a range at a time: a WAV file's samples are read as they are asked for (any length;
    /// its header is checked now, its samples as they are read); another format is decoded whole by ffmpeg first, at
    /// most <see cref="DefaultMaxSeconds"/>. Any problem is an <see cref="InputFileException"/>.
    /// </summary>
    public static IAudioSource Open(string path) => Open(path, FfmpegDecoder.FromEnvironment());

    /// <summary>The same, decoding non-WAV formats with <paramref name="decoder"/>.</summary>
    public static IAudioSource Open(string path, FfmpegDecoder decoder) =>
        Path.GetExtension(path).Equals(".wav", StringComparison.OrdinalIgnoreCase) ? WavSource.Open(path) : Read(path, decoder);

    internal static MusicGenException TooLong(string path, double seconds, double maxSeconds) =>
        new($"{path}: the audio is {(seconds > maxSeconds + 1 ? $"{seconds:0.0} s" : "longer than that")}; at most {maxSeconds:0.#} s is read here");

    /// <summary>
    /// The file resampled to <paramref name="sampleRate"/> (torchaudio's defaults) with <paramref name="channels"/>
    /// channels: averaged down to mono, or mono duplicated to stereo.
    /// </summary>
    public static AudioClip ReadAt(string path, int sampleRate, int channels, double maxSeconds = DefaultMaxSeconds) =>
        Read(path, maxSeconds).Convert(sampleRate, channels);
}
