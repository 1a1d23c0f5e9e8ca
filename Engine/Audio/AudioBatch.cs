using MusicGen.Loaders;

namespace MusicGen.Engine.Audio;

/// <summary>
/// Audio of a batch, [Batch, Channels, Samples] row-major in <see cref="Values"/>, at <see cref="SampleRate"/>.
/// Items of one batch share a length; an item whose audio prompt was shorter than the others starts with the
/// left padding the processor added, and <see cref="Starts"/> says where its own audio begins (the reference's
/// <c>batch_decode</c> cuts it off; <see cref="Clip"/> does too).
/// </summary>
public sealed record AudioBatch
{
    /// <summary>Audio of the given shape; <paramref name="starts"/> (one per item, default all 0) marks each item's padding.</summary>
    public AudioBatch(int sampleRate, int batch, int channels, int samples, float[] values, int[]? starts = null)
    {
        if (sampleRate <= 0 || batch < 0 || channels < 1 || samples < 0)
            throw new MusicGenException($"audio of shape [{batch}, {channels}, {samples}] at {sampleRate} Hz is not valid");
        if (values.Length != (long)batch * channels * samples)
            throw new MusicGenException($"{values.Length} samples do not fill [{batch}, {channels}, {samples}]");
        starts ??= new int[batch];
        if (starts.Length != batch || starts.Any(s => s < 0 || s > samples))
            throw new MusicGenException($"the starts [{string.Join(", ", starts)}] do not fit {batch} item(s) of {samples} samples");
        (SampleRate, Batch, Channels, Samples, Values, Starts) = (sampleRate, batch, channels, samples, values, starts);
    }

    public int SampleRate { get; }
    public int Batch { get; }
    public int Channels { get; }
    /// <summary>Samples per channel of every item, padding included.</summary>
    public int Samples { get; }
    public float[] Values { get; }
    /// <summary>Per item, the first sample after its left padding.</summary>
    public IReadOnlyList<int> Starts { get; }

    /// <summary>The shape, [Batch, Channels, Samples].</summary>
    public int[] Shape => [Batch, Channels, Samples];

    /// <summary>Audio of the same rate, batch and channels, one piece after another (starts all 0).</summary>
    public static AudioBatch Concatenate(IReadOnlyList<AudioBatch> pieces)
    {
        var first = pieces[0];
        int rows = first.Batch * first.Channels, samples = pieces.Sum(p => p.Samples), at = 0;
        var all = new float[(long)rows * samples];
        foreach (var piece in pieces)
        {
            for (int row = 0; row < rows; row++) piece.Values.AsSpan(row * piece.Samples, piece.Samples).CopyTo(all.AsSpan(row * samples + at));
            at += piece.Samples;
        }
        return new AudioBatch(first.SampleRate, first.Batch, first.Channels, samples, all);
    }

    /// <summary>
    /// Clips of one rate and channel count as one batch, each left-padded with zeros to the longest, as
    /// MusicgenProcessor pads audio prompts; <see cref="Starts"/> mark the padding.
    /// </summary>
    public static AudioBatch LeftPadded(IReadOnlyList<AudioClip> clips)
    {
        int channels = clips[0].ChannelCount, length = clips.Max(c => c.Length);
        var values = new float[(long)clips.Count * channels * length];
        var starts = new int[clips.Count];
        for (int b = 0; b < clips.Count; b++)
        {
            starts[b] = length - clips[b].Length;
            for (int c = 0; c < channels; c++) clips[b].Channels[c].CopyTo(values, (b * channels + c) * length + starts[b]);
        }
        return new AudioBatch(clips[0].SampleRate, clips.Count, channels, length, values, starts);
    }

    /// <summary>Sample i of channel c of item b.</summary>
    public float this[int b, int c, int i] => Values[(b * Channels + c) * Samples + i];

    /// <summary>Item b without its left padding, as planar channels.</summary>
    public AudioClip Clip(int b)
    {
        int start = Starts[b];
        return new AudioClip(SampleRate, Enumerable.Range(0, Channels)
            .Select(c => Values.AsSpan((b * Channels + c) * Samples + start, Samples - start).ToArray()).ToArray());
    }
}
