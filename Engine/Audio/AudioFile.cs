using System.Buffers.Binary;
using MusicGen.Engine.Audio.Flac;
using MusicGen.Engine.Audio.Ogg;
using MusicGen.Engine.Tensors;
using MusicGen.Loaders;

namespace MusicGen.Engine.Audio;

/// <summary>
/// Reads and writes audio files. Reading knows a file by its content: WAV, FLAC, MP3, Ogg Opus and Ogg Vorbis are
/// decoded here, everything else through ffmpeg (<see cref="FfmpegDecoder"/>). Writing picks the format by the
/// file's extension (<see cref="AudioFormat"/>). Problems are reported as <see cref="MusicGenException"/>s naming
/// the file.
/// </summary>
public static class AudioFile
{
    /// <summary>Extensions taken as audio files in a folder: WAV, FLAC, MP3 and Ogg read natively, the rest through ffmpeg.</summary>
    public static readonly IReadOnlySet<string> Extensions = new HashSet<string>(StringComparer.OrdinalIgnoreCase)
    {
        ".wav", ".mp3", ".flac", ".ogg", ".oga", ".opus", ".m4a", ".aac", ".wma", ".aif", ".aiff", ".webm",
    };

    /// <summary>The longest audio read unless a caller asks for less: an hour.</summary>
    public const double DefaultMaxSeconds = 3600;

    /// <summary>
    /// The lowest sample rate taken as audio (telephone audio is 8000 Hz): a file claiming 1 Hz is 32000 times longer
    /// once resampled to the codec's rate, so its few bytes would cost gigabytes.
    /// </summary>
    public const int MinSampleRate = 1000;

    /// <summary>The most samples (all channels together) read from one file: 1 GiB of float32.</summary>
    public const long MaxSamples = 1L << 28;

    /// <summary>The file at its own sample rate and channels.</summary>
    public static AudioClip Read(string path, double maxSeconds = DefaultMaxSeconds) => Read(path, FfmpegDecoder.FromEnvironment(), maxSeconds);

    /// <summary>
    /// The file at its own sample rate and channels, decoding the formats not read here with <paramref name="decoder"/>.
    /// Audio longer than <paramref name="maxSeconds"/> is refused (from the header where it states the length, else
    /// as soon as the decoded audio passes the limit; through ffmpeg after decoding at most a second more), and so is
    /// audio holding NaN or infinity; any problem is an <see cref="InputFileException"/>.
    /// </summary>
    public static AudioClip Read(string path, FfmpegDecoder decoder, double maxSeconds = DefaultMaxSeconds) => MusicGenException.Refine(() =>
    {
        InputFile.RequireRegular(path);
        AudioClip clip;
        using (var stream = InputFile.OpenRead(path, FileOptions.SequentialScan))
        {
            var (kind, start) = Identify(stream, path);
            stream.Position = start;
            clip = kind switch
            {
                AudioContainer.Wav => WavFile.Read(stream, path, maxSeconds),
                AudioContainer.Flac => FlacReader.Read(stream, path, maxSeconds),
                AudioContainer.Mp3 => CompressedReaders.ReadMp3(stream, path, maxSeconds),
                AudioContainer.OggOpus => OpusReader.Read(stream, path, maxSeconds),
                AudioContainer.OggVorbis => CompressedReaders.ReadVorbis(stream, path, maxSeconds),
                _ => decoder.Decode(path, maxSeconds),
            };
        }
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

    /// <summary>
    /// What the first bytes of a file say it is (an ID3v2 tag in front is looked past when <paramref name="head"/>
    /// reaches beyond it), or null for anything else (M4A, AAC, AIFF, …, which ffmpeg reads).
    /// </summary>
    public static AudioContainer? Detect(ReadOnlySpan<byte> head)
    {
        if (head.Length >= 12 && head.StartsWith("RIFF"u8) && head[8..12].SequenceEqual("WAVE"u8)) return AudioContainer.Wav;
        if (head.StartsWith("fLaC"u8)) return AudioContainer.Flac;
        if (head.Length >= 28 && head.StartsWith("OggS"u8))
        {
            // The first page holds the codec's identification header alone: it starts after the lacing values.
            int body = 27 + head[26];
            ReadOnlySpan<byte> packet = head.Length > body ? head[body..] : [];
            if (packet.StartsWith("OpusHead"u8)) return AudioContainer.OggOpus;
            if (packet.StartsWith("\u0001vorbis"u8)) return AudioContainer.OggVorbis;
            return null;
        }
        if (Id3Size(head) is int tag) return head.Length > tag ? Detect(head[tag..]) : null;
        return IsMpegAudioFrame(head) ? AudioContainer.Mp3 : null;
    }

    /// <summary>The container of the file, looking past an ID3v2 tag, and where its stream starts.</summary>
    private static (AudioContainer? Kind, long Start) Identify(Stream stream, string path)
    {
        Span<byte> head = stackalloc byte[512];
        int read = stream.ReadAtLeast(head, head.Length, throwOnEndOfStream: false);
        long start = 0;
        if (Id3Size(head[..read]) is int tag)
        {
            start = tag;
            if (start >= stream.Length) return (null, 0);
            stream.Position = start;
            read = stream.ReadAtLeast(head, head.Length, throwOnEndOfStream: false);
        }
        var kind = Detect(head[..read]);
        // MP3 frames found behind a tag are NLayer's to find again: it reads the tag itself.
        if (kind == AudioContainer.Mp3) start = 0;
        return (kind ?? ByExtension(path), start);
    }

    /// <summary>
    /// For a file whose content is not recognised, the reader its extension names, so that a damaged WAV or FLAC gets
    /// that reader's precise error instead of ffmpeg's.
    /// </summary>
    private static AudioContainer? ByExtension(string path) => Path.GetExtension(path).ToLowerInvariant() switch
    {
        ".wav" => AudioContainer.Wav,
        ".flac" => AudioContainer.Flac,
        ".opus" => AudioContainer.OggOpus,
        _ => null,
    };

    /// <summary>The size of an ID3v2 tag at the start ("ID3", version, flags, 28-bit size in 7-bit bytes, footer flag), or null.</summary>
    private static int? Id3Size(ReadOnlySpan<byte> head)
    {
        if (head.Length < 10 || !head.StartsWith("ID3"u8) || (head[6] | head[7] | head[8] | head[9]) >= 0x80) return null;
        int size = head[6] << 21 | head[7] << 14 | head[8] << 7 | head[9];
        return 10 + size + ((head[5] & 0x10) != 0 ? 10 : 0);
    }

    /// <summary>An MPEG audio frame header: 11 sync bits, a version and layer that exist, a bitrate and rate index that exist.</summary>
    private static bool IsMpegAudioFrame(ReadOnlySpan<byte> head)
    {
        if (head.Length < 4) return false;
        uint header = BinaryPrimitives.ReadUInt32BigEndian(head);
        bool sync = (header & 0xFFE00000) == 0xFFE00000;
        uint version = header >> 19 & 3, layer = header >> 17 & 3, bitrate = header >> 12 & 15, rate = header >> 10 & 3;
        return sync && version != 1 && layer != 0 && bitrate != 15 && rate != 3;
    }

    /// <summary>
    /// Writes <paramref name="clip"/> to <paramref name="path"/> in the format of its extension, through a temporary
    /// file so that a failure never leaves half a file, after applying <paramref name="normalization"/>.
    /// <paramref name="sampleFormat"/> picks among the sample formats the format holds (default: its first).
    /// </summary>
    public static void Write(string path, AudioClip clip, SampleFormat? sampleFormat = null, Normalization normalization = Normalization.None)
    {
        var format = AudioFormat.FromPath(path);
        format.ResolveSampleFormat(sampleFormat);
        var normalized = AudioNormalizer.Apply(clip, normalization);
        try
        {
            AtomicFile.Write(path, stream => format.Write(stream, normalized, sampleFormat, path));
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException)
        {
            throw new MusicGenException($"{path}: cannot write: {e.Message}", e);
        }
    }

    /// <summary>
    /// Writes audio of a known length that <paramref name="write"/> hands an <see cref="AudioWriter"/> piece by
    /// piece, in the format of the extension, through a temporary file as above: long audio never has to be held whole.
    /// </summary>
    public static void Write(string path, int sampleRate, int channels, long frames, SampleFormat? sampleFormat, Action<AudioWriter> write)
    {
        var format = AudioFormat.FromPath(path);
        format.ResolveSampleFormat(sampleFormat);
        try
        {
            AtomicFile.Write(path, stream =>
            {
                using var writer = format.OpenWriter(stream, sampleRate, channels, sampleFormat, frames, path);
                write(writer);
                writer.Finish();
            });
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException)
        {
            throw new MusicGenException($"{path}: cannot write: {e.Message}", e);
        }
    }
}

/// <summary>The containers <see cref="AudioFile"/> decodes itself.</summary>
public enum AudioContainer
{
    Wav,
    Flac,
    Mp3,
    OggOpus,
    OggVorbis,
}
