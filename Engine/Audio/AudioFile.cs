using MusicGen.Loaders;

namespace MusicGen.Engine.Audio;

/// <summary>
/// Reads audio files of any format: WAV natively, everything else through ffmpeg (<see cref="FfmpegDecoder"/>).
/// Problems are reported as <see cref="MusicGenException"/>s naming the file.
/// </summary>
public static class AudioFile
{
    /// <summary>The file at its own sample rate and channels.</summary>
    public static AudioClip Read(string path) => Read(path, FfmpegDecoder.FromEnvironment());

    /// <summary>The file at its own sample rate and channels, decoding non-WAV formats with <paramref name="decoder"/>.</summary>
    public static AudioClip Read(string path, FfmpegDecoder decoder)
    {
        if (Directory.Exists(path)) throw new MusicGenException($"{path}: is a folder, not an audio file");
        if (!File.Exists(path)) throw new MusicGenException($"{path}: file not found");
        return Path.GetExtension(path).Equals(".wav", StringComparison.OrdinalIgnoreCase) ? WavFile.Read(path) : decoder.Decode(path);
    }

    /// <summary>
    /// The file resampled to <paramref name="sampleRate"/> (torchaudio's defaults) with <paramref name="channels"/>
    /// channels: averaged down to mono, or mono duplicated to stereo.
    /// </summary>
    public static AudioClip ReadAt(string path, int sampleRate, int channels) => Read(path).Convert(sampleRate, channels);
}
