using MusicGen.Engine.Codec;

namespace MusicGen.Engine.Generation;

/// <summary>Hears the codes [batch, channels, codebooks, n] of frames [first, first + n) of a generation.</summary>
internal delegate void FramesHandler(CodesBatch codes, int first);

/// <summary>
/// Hands the frames of a generation in progress to a handler as soon as every codebook has them: in the delay
/// pattern, frame f is complete once the most delayed codebook's position for it is filled.
/// </summary>
internal sealed class CompletedFrames(DelayPattern pattern, int[] sequence, CodebookLayout layout, FramesHandler handler)
{
    private int _reported;

    /// <summary>After position has been filled in the sequence.</summary>
    public void After(int position)
    {
        if (!pattern.Delayed) return; // an undelayed sequence is only reverted at the end
        int complete = pattern.FramesComplete(position);
        if (complete <= _reported) return;
        int count = complete - _reported, rows = pattern.Rows;
        var codes = new int[rows * count]; // [B, K, count] in decoder order
        for (int row = 0; row < rows; row++)
            for (int f = 0; f < count; f++)
                codes[row * count + f] = sequence[row * pattern.MaxLength + pattern.PositionOf(row, _reported + f)];
        Report(layout.ToChannels(codes, rows / layout.Codebooks, count), count);
    }

    /// <summary>Reports what is left from the whole result.</summary>
    public void Finish(CodesBatch codes)
    {
        if (_reported >= codes.Frames) return;
        int count = codes.Frames - _reported, rows = codes.Values.Length / codes.Frames;
        var rest = new int[rows * count];
        for (int row = 0; row < rows; row++) codes.Values.AsSpan(row * codes.Frames + _reported, count).CopyTo(rest.AsSpan(row * count));
        Report(rest, count);
    }

    private void Report(int[] byChannel, int count)
    {
        handler(new CodesBatch(pattern.Rows / layout.Codebooks, layout.Channels, layout.CodebooksPerChannel, count, byChannel), _reported);
        _reported += count;
    }
}
