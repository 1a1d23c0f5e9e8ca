using MusicGen.Engine.Audio;
using MusicGen.Engine.Backends;
using MusicGen.Engine.Models.Encodec;
using MusicGen.Engine.Tensors;
using MusicGen.Loaders;
using MusicGen.Loaders.Checkpoints;

namespace MusicGen.Engine.Codec;

/// <summary>
/// Audio to codes and back through a checkpoint's codec, a batch at a time. The codec's batch is every item's
/// channels one after another, each a mono item: audio [B, C, S] row-major is [B · C, 1, S] as it stands, and the
/// codes [B · C, K, F] the codec makes of it are [B, C, K, F] (a stereo MusicGen checkpoint codes each channel
/// with its mono codec). This is the one place that maps batches onto the codec.
/// </summary>
public sealed class AudioCodec : IDisposable
{
    private readonly IBackend _backend;
    private readonly bool _ownsModel;

    public EncodecModel Model { get; }
    /// <summary>Channels the audio and codes carry: the MusicGen decoder's audio channels, or the codec's own.</summary>
    public int Channels { get; }

    /// <summary>The codec of a checkpoint (a MusicGen checkpoint's, or a standalone EnCodec one), loaded onto <paramref name="backend"/>.</summary>
    public AudioCodec(IBackend backend, CheckpointFolder checkpoint)
        : this(new EncodecModel(backend, checkpoint.Codec, checkpoint.CodecWeights), checkpoint.Musicgen?.Decoder.AudioChannels ?? checkpoint.Codec.AudioChannels, ownsModel: true) { }

    /// <summary>A loaded codec (a MusicGen model's), which it borrows, for audio of <paramref name="channels"/> channels.</summary>
    public AudioCodec(EncodecModel model, int channels) : this(model, channels, ownsModel: false) { }

    private AudioCodec(EncodecModel model, int channels, bool ownsModel)
    {
        _backend = model.Backend;
        Model = model;
        Channels = channels;
        _ownsModel = ownsModel;
    }

    private int SampleRate => Model.Config.SamplingRate;

    /// <summary>
    /// Samples (at the codec's rate) coded in one piece: longer audio is read and coded a piece at a time by
    /// <see cref="EncodecStreamingEncoder"/>, and longer codes decoded a piece at a time by
    /// <see cref="EncodecStreamingDecoder"/>, so that memory stays bounded at any length. About 4 s at 32 kHz; the
    /// context each piece recomputes is a few frames.
    /// </summary>
    public const int PieceSamples = 1 << 17;

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
    /// Codes of audio of any length and sampling rate, read, resampled and coded <see cref="PieceSamples"/> at a time
    /// (audio up to one piece is coded whole). The codes are the whole encode's: the streaming encoder carries the
    /// LSTM's state and the convolutions' context from piece to piece.
    /// </summary>
    public AudioCodes Encode(IAudioSource audio, double? bandwidth = null)
    {
        var source = audio.SampleRate == SampleRate ? audio : new ResampledAudio(audio, SampleRate); // disposed with audio, by its owner
        if (source.Length == 0) throw new MusicGenException("the audio has no samples");
        if (source.Length <= PieceSamples) return Encode(new AudioClip(SampleRate, source.Read(0, (int)source.Length)), bandwidth);
        RequireMemoryFor(PieceSamples, "encoding");
        int quantizers = Model.QuantizersFor(bandwidth ?? Model.Config.TargetBandwidths.Max());
        int batch = CodecItems(1);
        using var encoder = new EncodecStreamingEncoder(Model, batch, quantizers);
        var pieces = new List<int[]>(); // each [B, Q, n]
        for (long start = 0; start < source.Length; start += PieceSamples)
        {
            int count = (int)Math.Min(PieceSamples, source.Length - start);
            pieces.Add(encoder.Push(new AudioClip(SampleRate, source.Read(start, count)).WithChannels(Channels).Channels.SelectMany(c => c).ToArray(), count)); // [C, 1, n]
        }
        pieces.Add(encoder.Finish());
        int frames = encoder.CodedFrames, rows = batch * quantizers;
        var codes = new int[checked(rows * frames)]; // [B, Q, F]
        int done = 0;
        foreach (int[] piece in pieces)
        {
            int n = piece.Length / rows;
            for (int r = 0; r < rows; r++) piece.AsSpan(r * n, n).CopyTo(codes.AsSpan(r * frames + done));
            done += n;
        }
        return new AudioCodes(Channels, quantizers, frames, codes, SampleRate, Model.Config.FrameRate, checked((int)source.Length));
    }

    /// <summary>
    /// Codes of clips of equal length, in one pass through the codec (faster than one by one; the same codes, as no
    /// clip is padded). The codec's activations for all of it are held at once: longer audio goes through
    /// <see cref="Encode(IAudioSource, double?)"/>.
    /// </summary>
    public AudioCodes[] EncodeBatch(IReadOnlyList<AudioClip> clips, double? bandwidth = null)
    {
        if (clips.Count == 0) return [];
        var resampled = clips.Select(c => c.SampleRate == SampleRate ? c : Resampler.Resample(c, SampleRate)).ToArray();
        int length = resampled[0].Length;
        if (length == 0) throw new MusicGenException("the audio has no samples");
        if (resampled.Any(c => c.Length != length)) throw new ArgumentException("clips of one batch must have the same length", nameof(clips));
        RequireMemoryFor((long)length * clips.Count, "encoding");
        int quantizers = Model.QuantizersFor(bandwidth ?? Model.Config.TargetBandwidths.Max());
        var audio = new AudioBatch(SampleRate, clips.Count, Channels, length,
            resampled.SelectMany(clip => clip.WithChannels(Channels).Channels.SelectMany(c => c)).ToArray());
        var codes = Encode(audio, quantizers);
        return Enumerable.Range(0, clips.Count).Select(i => codes.ToAudioCodes(i, SampleRate, Model.Config.FrameRate, length)).ToArray();
    }

    /// <summary>Codes [B, C, K, F] of <paramref name="codebooks"/> codebooks of audio [B, C, S] at the codec's rate; F = ⌈S / hop⌉.</summary>
    public CodesBatch Encode(AudioBatch audio, int codebooks)
    {
        if (audio.Channels != Channels) throw new ArgumentException($"audio of {audio.Channels} channel(s) for a codec of {Channels}", nameof(audio));
        int items = audio.Batch * Channels;
        using var input = _backend.Upload(audio.Values, items, 1, audio.Samples);
        int[] codes = Model.Encode(input, codebooks); // [B · C, K, F]
        return new CodesBatch(audio.Batch, Channels, codebooks, codes.Length / (items * codebooks), codes);
    }

    /// <summary>The clip coded by codes, cut to the original length when the codes record it.</summary>
    public AudioClip Decode(AudioCodes codes)
    {
        var pieces = new List<AudioClip>();
        Decode(codes, pieces.Add);
        return pieces.Count == 1 ? pieces[0]
            : new AudioClip(SampleRate, Enumerable.Range(0, Channels).Select(c => pieces.SelectMany(p => p.Channels[c]).ToArray()).ToArray());
    }

    /// <summary>Samples per channel that <see cref="Decode(AudioCodes, Action{AudioClip})"/> hands out for these codes.</summary>
    public long DecodedLength(AudioCodes codes)
    {
        long decoded = (long)codes.Frames * Model.Config.HopLength;
        return Math.Min(decoded, codes.Samples ?? decoded);
    }

    /// <summary>
    /// The audio coded by codes, cut to the original length when the codes record it, handed to
    /// <paramref name="write"/> in order: whole for codes of up to one piece, else a piece at a time as the streaming
    /// decoder makes it, so that memory stays bounded at any length.
    /// </summary>
    public void Decode(AudioCodes codes, Action<AudioClip> write)
    {
        if (codes.SampleRate != SampleRate || codes.FrameRate != Model.Config.FrameRate)
            throw new MusicGenException($"the codes are for {codes.SampleRate} Hz at {codes.FrameRate} frames/s, this codec is {SampleRate} Hz at {Model.Config.FrameRate} frames/s");
        if (codes.Channels != Channels)
            throw new MusicGenException($"the codes have {codes.Channels} channel(s), this model has {Channels}");
        if (codes.Codebooks > Model.Quantizer.NumQuantizers)
            throw new MusicGenException($"the codes have {codes.Codebooks} codebooks, this codec has {Model.Quantizer.NumQuantizers}");
        codes.RequireWithin(Model.Config.CodebookSize);
        int hop = Model.Config.HopLength, pieceFrames = PieceSamples / hop;
        long remaining = DecodedLength(codes);
        void Hand(float[] samples) // [C, 1, n]
        {
            FiniteCheck.Require(samples, "the audio decoded by the codec (the checkpoint's weights may hold NaN or infinity)");
            int decoded = samples.Length / Channels, length = (int)Math.Min(decoded, remaining);
            if (length == 0) return;
            write(new AudioClip(SampleRate, Enumerable.Range(0, Channels).Select(c => samples.AsSpan(c * decoded, length).ToArray()).ToArray()));
            remaining -= length;
        }
        if (codes.Frames <= pieceFrames)
        {
            RequireMemoryFor((long)codes.Frames * hop, "decoding");
            using var audio = Model.Decode(codes.Values, codes.Channels, codes.Codebooks, codes.Frames); // [C, 1, F · hop]
            Hand(audio.ToArray());
            return;
        }
        RequireMemoryFor(PieceSamples, "decoding");
        using var stream = new EncodecStreamingDecoder(Model, codes.Channels, codes.Codebooks);
        int rows = codes.Channels * codes.Codebooks;
        for (int start = 0; start < codes.Frames; start += pieceFrames)
        {
            int frames = Math.Min(pieceFrames, codes.Frames - start);
            Hand(stream.Push(FrameColumns.Slice(codes.Values, rows, codes.Frames, start, frames), frames));
        }
        Hand(stream.Finish());
    }

    /// <summary>Audio [B, C, F · hop] of codes [B, C, K, F], decoded whole.</summary>
    public AudioBatch Decode(CodesBatch codes)
    {
        if (codes.Channels != Channels || codes.Codebooks > Model.Quantizer.NumQuantizers)
            throw new MusicGenException($"codes of {codes.Channels} channel(s) × {codes.Codebooks} codebooks do not fit this codec's {Channels} × {Model.Quantizer.NumQuantizers}");
        using var decoded = Model.Decode(codes.Values, codes.Batch * Channels, codes.Codebooks, codes.Frames); // [B · C, 1, F · hop]
        var samples = decoded.ToArray();
        FiniteCheck.Require(samples, "the audio decoded by the codec (the checkpoint's weights may hold NaN or infinity)");
        return AudioOf(samples, codes.Batch);
    }

    /// <summary>A streaming decode of codes of <paramref name="batch"/> items, decoding whenever <paramref name="chunkFrames"/> frames have come.</summary>
    public AudioStream Stream(int batch, int codebooks, int chunkFrames = 1) => new(this, batch, codebooks, chunkFrames);

    /// <summary>The codec's items for <paramref name="batch"/> items of audio or codes: every channel its own.</summary>
    internal int CodecItems(int batch) => batch * Channels;

    /// <summary>The codec's output [B · C, 1, S] as audio [B, C, S].</summary>
    internal AudioBatch AudioOf(float[] codecAudio, int batch) =>
        new(SampleRate, batch, Channels, codecAudio.Length / Math.Max(1, CodecItems(batch)), codecAudio);

    /// <summary>Frees the codec's weights on the device, when it loaded them.</summary>
    public void Dispose()
    {
        if (_ownsModel) Model.Dispose();
    }
}
