using MusicGen.Engine.Audio;
using MusicGen.Engine.Backends;
using MusicGen.Engine.Models.Encodec;
using MusicGen.Engine.Tensors;
using MusicGen.Loaders;
using MusicGen.Loaders.Checkpoints;

namespace MusicGen.Engine.Codec;

/// <summary>
/// Audio clips to codes and back through a checkpoint's codec. A stereo MusicGen checkpoint codes each channel
/// separately with its mono codec; otherwise the clip is mixed to the codec's channels (mean for mono).
/// </summary>
public sealed class AudioCodec : IDisposable
{
    private readonly IBackend _backend;

    public EncodecModel Model { get; }
    /// <summary>Channels the codes carry: the MusicGen decoder's audio channels, or the codec's own.</summary>
    public int Channels { get; }

    public AudioCodec(IBackend backend, CheckpointFolder checkpoint)
    {
        _backend = backend;
        Model = new EncodecModel(backend, checkpoint.Codec, checkpoint.CodecWeights);
        Channels = checkpoint.Musicgen?.Decoder.AudioChannels ?? checkpoint.Codec.AudioChannels;
    }

    private int SampleRate => Model.Config.SamplingRate;

    /// <summary>
    /// The longest audio coded in one piece. The codec's activations grow with the length, so longer audio is
    /// refused, naming this limit, rather than exhausting memory (see also <see cref="RequireMemoryFor"/>).
    /// </summary>
    public const int MaxSeconds = 600;

    /// <summary>
    /// Bytes of activations per sample and codec filter, measured at the peak of a decode (the full-rate residual
    /// stage, its inputs and outputs live at once): about 40.
    /// </summary>
    private const long PeakBytesPerSampleAndFilter = 40;

    /// <summary>Refuses audio whose coding would need more than three quarters of the memory this process may use.</summary>
    private void RequireMemoryFor(long samples, string what)
    {
        long needed = samples * Channels * Model.Config.NumFilters * PeakBytesPerSampleAndFilter;
        long available = GC.GetGCMemoryInfo().TotalAvailableMemoryBytes / 4 * 3;
        if (needed > available)
            throw new MusicGenException($"{what} {samples / (double)SampleRate:0.0} s of audio needs about {ByteSize.Format(needed)} of memory, "
                + $"more than the {ByteSize.Format(available)} this machine allows; split it into shorter pieces");
    }

    /// <summary>Codes of a clip at any sampling rate (resampled first) at a bandwidth (kbps; default the codec's largest).</summary>
    public AudioCodes Encode(AudioClip clip, double? bandwidth = null) => EncodeBatch([clip], bandwidth)[0];

    /// <summary>
    /// Codes of clips of equal length, in one pass through the codec (faster than one by one; the same codes, as no
    /// clip is padded).
    /// </summary>
    public AudioCodes[] EncodeBatch(IReadOnlyList<AudioClip> clips, double? bandwidth = null)
    {
        if (clips.Count == 0) return [];
        foreach (var clip in clips)
            if (clip.Seconds > MaxSeconds)
                throw new MusicGenException($"the audio is {clip.Seconds:0.0} s; one encode takes at most {MaxSeconds} s");
        var resampled = clips.Select(c => c.SampleRate == SampleRate ? c : Resampler.Resample(c, SampleRate)).ToArray();
        int length = resampled[0].Length;
        if (length == 0) throw new MusicGenException("the audio has no samples");
        if (resampled.Any(c => c.Length != length)) throw new ArgumentException("clips of one batch must have the same length", nameof(clips));
        RequireMemoryFor((long)length * clips.Count, "encoding");
        int quantizers = Model.QuantizersFor(bandwidth ?? Model.Config.TargetBandwidths.Max());
        var layouts = resampled.Select(Layout).ToArray();
        int batch = layouts[0].Batch, codecChannels = layouts[0].CodecChannels;
        using var input = _backend.Upload(layouts.SelectMany(l => l.Samples).ToArray(), batch * clips.Count, codecChannels, length);
        int[] codes = Model.Encode(input, quantizers); // [clips · batch, Q, F]
        int perClip = codes.Length / clips.Count, frames = perClip / (Channels * quantizers);
        return Enumerable.Range(0, clips.Count)
            .Select(i => new AudioCodes(Channels, quantizers, frames, codes.AsSpan(i * perClip, perClip).ToArray(), SampleRate, Model.Config.FrameRate, length))
            .ToArray();
    }

    /// <summary>The clip coded by codes, cut to the original length when the codes record it.</summary>
    public AudioClip Decode(AudioCodes codes)
    {
        if (codes.SampleRate != SampleRate || codes.FrameRate != Model.Config.FrameRate)
            throw new MusicGenException($"the codes are for {codes.SampleRate} Hz at {codes.FrameRate} frames/s, this codec is {SampleRate} Hz at {Model.Config.FrameRate} frames/s");
        if (codes.Channels != Channels)
            throw new MusicGenException($"the codes have {codes.Channels} channel(s), this model has {Channels}");
        if (codes.Codebooks > Model.Quantizer.NumQuantizers)
            throw new MusicGenException($"the codes have {codes.Codebooks} codebooks, this codec has {Model.Quantizer.NumQuantizers}");
        if (codes.Frames > MaxSeconds * Model.Config.FrameRate)
            throw new MusicGenException($"the codes are {codes.Frames} frames ({codes.Frames / (double)Model.Config.FrameRate:0.0} s); one decode takes at most {MaxSeconds} s ({MaxSeconds * Model.Config.FrameRate} frames)");
        codes.RequireWithin(Model.Config.CodebookSize);
        RequireMemoryFor((long)codes.Frames * Model.Config.HopLength, "decoding");
        using var audio = Model.Decode(codes.Values, codes.Channels, codes.Codebooks, codes.Frames); // [C, 1, F · hop]
        var samples = audio.ToArray();
        FiniteCheck.Require(samples, "the audio decoded by the codec (the checkpoint's weights may hold NaN or infinity)");
        int decoded = audio.Dim(2), length = Math.Min(decoded, codes.Samples ?? decoded);
        var channels = Enumerable.Range(0, Channels).Select(c => samples.AsSpan(c * decoded, length).ToArray()).ToArray();
        return new AudioClip(SampleRate, channels);
    }

    /// <summary>The clip as a codec batch: one mono item per channel for a stereo model, else one item.</summary>
    private (int Batch, int CodecChannels, float[] Samples) Layout(AudioClip clip)
    {
        int codecChannels = Model.Config.AudioChannels;
        var matched = clip.WithChannels(Channels == 2 ? 2 : codecChannels);
        return (Channels == 2 ? 2 : 1, Channels == 2 ? 1 : codecChannels, matched.Channels.SelectMany(c => c).ToArray());
    }

    /// <summary>Frees the codec's weights on the device.</summary>
    public void Dispose() => Model.Dispose();
}
