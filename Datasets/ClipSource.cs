using MusicGen.Engine.Audio;
using MusicGen.Loaders;

namespace MusicGen.Datasets;

/// <summary>How a manifest's <c>[start_s, end_s)</c> applies to the audio files.</summary>
public enum CutMode
{
    /// <summary>
    /// Cut when the file covers <c>end_s</c>; take the file whole when it is instead as long as
    /// <c>end_s − start_s</c> (a clip already cut); both within <see cref="ClipSource.ToleranceSeconds"/>.
    /// </summary>
    Auto,
    /// <summary>The files are whole recordings: always cut.</summary>
    Always,
    /// <summary>The files are the clips: never cut (the times are kept as metadata).</summary>
    Never,
}

/// <summary>
/// The audio of a manifest entry, as the codec takes it: found by id in the audio folder, cut to the entry's time
/// range (at the file's own rate, as cutting with ffmpeg before encoding would), mixed to the codec's channels and
/// resampled to its rate, all as it is read, so that a clip of a long recording is read a range at a time. A clip
/// that cannot be used is a <see cref="MusicGenException"/> giving the reason.
/// </summary>
public sealed class ClipSource(AudioFolder folder, CutMode mode, int sampleRate, int channels)
{
    /// <summary>How far a file's length may be from the asked range and still count as matching it.</summary>
    public const double ToleranceSeconds = 0.25;

    /// <summary>The entry's audio as a source read a range at a time (the caller disposes it), and the bytes of its file.</summary>
    public (IAudioSource Audio, long BytesRead) Open(ManifestEntry entry)
    {
        double start = entry.StartSeconds ?? 0;
        if (start < 0) throw new MusicGenException($"start_s {start} is negative");
        if (entry.EndSeconds is double end && end <= start) throw new MusicGenException($"end_s {end} is not after start_s {start}");
        string path = folder.Find(entry.Id);
        var file = AudioFile.Open(path);
        try
        {
            var audio = Cut(file, entry);
            // Down-mixing first and duplicating last resamples as few channels as possible.
            if (audio.ChannelCount > channels) audio = new RemixedAudio(audio, channels);
            if (audio.SampleRate != sampleRate) audio = new ResampledAudio(audio, sampleRate);
            if (audio.ChannelCount != channels) audio = new RemixedAudio(audio, channels);
            if (audio.Length == 0) throw new MusicGenException("no audio in the asked range");
            return (audio, new FileInfo(path).Length);
        }
        catch
        {
            file.Dispose();
            throw;
        }
    }

    /// <summary>The entry's audio whole, and the bytes of its file.</summary>
    public (AudioClip Clip, long BytesRead) Load(ManifestEntry entry)
    {
        var (audio, bytes) = Open(entry);
        using (audio) return (new AudioClip(sampleRate, audio.Read(0, checked((int)audio.Length))), bytes);
    }

    private IAudioSource Cut(IAudioSource file, ManifestEntry entry)
    {
        if (entry.StartSeconds is null && entry.EndSeconds is null) return file;
        double seconds = (double)file.Length / file.SampleRate;
        double start = entry.StartSeconds ?? 0, end = entry.EndSeconds ?? seconds;
        bool covers = seconds >= end - ToleranceSeconds;
        bool isClip = Math.Abs(seconds - (end - start)) <= ToleranceSeconds;
        switch (mode)
        {
            case CutMode.Never:
                return file;
            case CutMode.Auto when !covers && isClip:
                return file;
            case CutMode.Auto or CutMode.Always when !covers:
                throw new MusicGenException($"the file is {seconds:0.###} s long, shorter than asked (up to {end:0.###} s{(mode == CutMode.Auto ? $", and not a {end - start:0.###} s clip" : "")})");
        }
        long first = (long)Math.Round(start * file.SampleRate), last = Math.Min(file.Length, (long)Math.Round(end * file.SampleRate));
        if (last <= first) throw new MusicGenException("no audio in the asked range");
        return new AudioRange(file, first, last - first);
    }
}
