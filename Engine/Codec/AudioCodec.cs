using MusicGen.Engine.Audio;
using MusicGen.Engine.Backends;
using MusicGen.Engine.Models.Encodec;
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

    /// <summary>Codes of a clip at any sampling rate (resampled first) at a bandwidth (kbps; default the codec's largest).</summary>
    public AudioCodes Encode(AudioClip clip, double? bandwidth = null)
    {
        if (clip.Length == 0) throw new MusicGenException("the audio has no samples");
        if (clip.SampleRate != SampleRate) clip = Resampler.Resample(clip, SampleRate);
        int quantizers = Model.QuantizersFor(bandwidth ?? Model.Config.TargetBandwidths.Max());
        var (batch, codecChannels, audio) = Layout(clip);
        using var input = _backend.Upload(audio, batch, codecChannels, clip.Length);
        int[] codes = Model.Encode(input, quantizers);
        return new AudioCodes(Channels, quantizers, codes.Length / (Channels * quantizers), codes, SampleRate, Model.Config.FrameRate, clip.Length);
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
        using var audio = Model.Decode(codes.Values, codes.Channels, codes.Codebooks, codes.Frames); // [C, 1, F · hop]
        var samples = audio.ToArray();
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
