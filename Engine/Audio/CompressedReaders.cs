using MusicGen.Loaders;

namespace MusicGen.Engine.Audio;

/// <summary>
/// MP3 (NLayer) and Ogg Vorbis (NVorbis), decoded whole into a <see cref="PcmAccumulator"/> so that they meet the
/// same limits as every other reader. These libraries report damaged input by whatever exception their decoding
/// happens to hit, so any exception from them becomes a <see cref="MusicGenException"/> naming the file.
/// </summary>
internal static class CompressedReaders
{
    private const int BlockFrames = 8192;

    /// <summary>
    /// The decoder delay of MPEG layer III (528 + 1 samples) that encoders' gapless information assumes, as ffmpeg
    /// applies it.
    /// </summary>
    private const int DecoderDelay = 529;

    public static AudioClip ReadMp3(Stream stream, string displayName, double maxSeconds) => Guard(displayName, "MP3", () =>
    {
        long start = stream.Position;
        var gapless = Mp3Gapless.Read(stream);
        stream.Position = start;
        using var file = new NLayer.MpegFile(stream);
        if (file.Channels is < 1 or > 2 || file.SampleRate <= 0)
            throw new MusicGenException($"{displayName}: no MPEG audio frames found");
        var audio = new PcmAccumulator(displayName, file.SampleRate, file.Channels, maxSeconds);
        ReadAll(audio, file.Channels, buffer => file.ReadSamples(buffer, 0, buffer.Length));
        if (audio.Length == 0) throw new MusicGenException($"{displayName}: no MPEG audio frames found");
        var clip = audio.ToClip();
        if (gapless is not var (delay, padding, frames)) return clip;
        // The encoder's delay and padding, as the LAME tag states them: what ffmpeg cuts, cut the same way.
        long first = Math.Min(delay + DecoderDelay, clip.Length), end = Math.Clamp((long)frames * file.SamplesPerFrame() - padding + DecoderDelay, first, clip.Length);
        return new AudioClip(clip.SampleRate, clip.Channels.Select(c => c.AsSpan((int)first, (int)(end - first)).ToArray()).ToArray());
    });

    public static AudioClip ReadVorbis(Stream stream, string displayName, double maxSeconds) => Guard(displayName, "Ogg Vorbis", () =>
    {
        using var reader = new NVorbis.VorbisReader(stream, closeOnDispose: false);
        if (reader.Channels < 1 || reader.SampleRate <= 0) throw new MusicGenException($"{displayName}: not a valid Ogg Vorbis stream");
        var audio = new PcmAccumulator(displayName, reader.SampleRate, reader.Channels, maxSeconds);
        ReadAll(audio, reader.Channels, buffer => reader.ReadSamples(buffer, 0, buffer.Length));
        return audio.ToClip();
    });

    /// <summary>Samples per channel in one MPEG audio frame: 1152 for layer III at 32 kHz and up, 576 below.</summary>
    private static int SamplesPerFrame(this NLayer.MpegFile file) => file.SampleRate >= 32000 ? 1152 : 576;

    /// <summary>Interleaved blocks from <paramref name="read"/> (samples read, 0 at the end) until the end.</summary>
    private static void ReadAll(PcmAccumulator audio, int channels, Func<float[], int> read)
    {
        var buffer = new float[BlockFrames * channels];
        for (int samples; (samples = read(buffer)) > 0;)
            audio.AppendInterleaved(buffer, samples / channels);
    }

    private static AudioClip Guard(string displayName, string format, Func<AudioClip> decode)
    {
        try
        {
            return decode();
        }
        catch (MusicGenException)
        {
            throw;
        }
        catch (Exception e) when (e is not OutOfMemoryException)
        {
            throw new MusicGenException($"{displayName}: not a valid {format} file ({e.Message})", e);
        }
    }
}
