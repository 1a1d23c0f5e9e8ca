using MusicGen.Loaders;

namespace MusicGen.Engine.Codec;

/// <summary>
/// EnCodec codes of a batch, [Batch, Channels, Codebooks, Frames] row-major in <see cref="Values"/>: codebook k of
/// channel c of item b at frame f is <c>Values[((b · Channels + c) · Codebooks + k) · Frames + f]</c>.
/// </summary>
public sealed record CodesBatch
{
    /// <summary>Codes of the given shape; <paramref name="values"/> must fill it exactly.</summary>
    public CodesBatch(int batch, int channels, int codebooks, int frames, int[] values)
    {
        if (batch < 0 || channels < 1 || codebooks < 1 || frames < 0)
            throw new MusicGenException($"codes of shape [{batch}, {channels}, {codebooks}, {frames}] are not valid");
        if (values.Length != (long)batch * channels * codebooks * frames)
            throw new MusicGenException($"{values.Length} codes do not fill [{batch}, {channels}, {codebooks}, {frames}]");
        (Batch, Channels, Codebooks, Frames, Values) = (batch, channels, codebooks, frames, values);
    }

    public int Batch { get; }
    public int Channels { get; }
    /// <summary>Codebooks of each channel.</summary>
    public int Codebooks { get; }
    public int Frames { get; }
    public int[] Values { get; }

    /// <summary>The shape, [Batch, Channels, Codebooks, Frames].</summary>
    public int[] Shape => [Batch, Channels, Codebooks, Frames];

    /// <summary>The code of item b, channel c, codebook k at frame f.</summary>
    public int this[int b, int c, int k, int f] => Values[((b * Channels + c) * Codebooks + k) * Frames + f];

    /// <summary>The codes of one item, [Channels, Codebooks, Frames].</summary>
    public ReadOnlySpan<int> ItemValues(int b) => Values.AsSpan(b * Channels * Codebooks * Frames, Channels * Codebooks * Frames);

    /// <summary>Frames [start, start + count) of every codebook.</summary>
    public CodesBatch FrameRange(int start, int count)
    {
        if (start < 0 || count < 0 || start + count > Frames)
            throw new ArgumentOutOfRangeException(nameof(count), $"frames [{start}, {start + count}) of {Frames}");
        if (start == 0 && count == Frames) return this;
        int rows = Batch * Channels * Codebooks;
        var kept = new int[rows * count];
        for (int row = 0; row < rows; row++) Values.AsSpan(row * Frames + start, count).CopyTo(kept.AsSpan(row * count));
        return new CodesBatch(Batch, Channels, Codebooks, count, kept);
    }

    /// <summary>Codes of the same batch, channels and codebooks, one after another along the frames.</summary>
    public static CodesBatch Concatenate(IReadOnlyList<CodesBatch> pieces)
    {
        var first = pieces[0];
        int rows = first.Batch * first.Channels * first.Codebooks, frames = pieces.Sum(p => p.Frames), at = 0;
        var all = new int[rows * frames];
        foreach (var piece in pieces)
        {
            for (int row = 0; row < rows; row++) piece.Values.AsSpan(row * piece.Frames, piece.Frames).CopyTo(all.AsSpan(row * frames + at));
            at += piece.Frames;
        }
        return new CodesBatch(first.Batch, first.Channels, first.Codebooks, frames, all);
    }

    /// <summary>One item as the codes file stores them, for a codec of these rates.</summary>
    public AudioCodes ToAudioCodes(int item, int sampleRate, int frameRate, int? samples = null) =>
        new(Channels, Codebooks, Frames, ItemValues(item).ToArray(), sampleRate, frameRate, samples);
}
