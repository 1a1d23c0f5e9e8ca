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
        InputFile.RequireRegular(path);
        return Path.GetExtension(path).Equals(".wav", StringComparison.OrdinalIgnoreCase) ? WavFile.Read(path) : decoder.Decode(path);
    }

    /// <summary>
    /// The file resampled to <paramref name="sampleRate"/> (torchaudio's defaults) with <paramref name="channels"/>
    /// channels: averaged down to mono, or mono duplicated to stereo.
    /// </summary>
    public static AudioClip ReadAt(string path, int sampleRate, int channels)
    {
        AudioClip clip = Read(path);
        // Down-mixing first and duplicating last resamples as few channels as possible.
        if (clip.ChannelCount > channels) clip = clip.WithChannels(channels);
        return Resampler.Resample(clip, sampleRate).WithChannels(channels);
    }
}
