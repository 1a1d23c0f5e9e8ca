namespace MusicGen.Engine.Generation;

/// <summary>Hears the codes [batch, codebooks, count] of frames [first, first + count) of a generation.</summary>
public delegate void FramesHandler(int[] codes, int first, int count);

/// <summary>
/// Hands the frames of a generation in progress to a handler as soon as every codebook has them: in the delay
/// pattern, frame f is complete once the most delayed codebook's position for it is filled.
/// </summary>
internal sealed class CompletedFrames(DelayPattern pattern, int[] sequence, FramesHandler handler)
{
    private int _reported;

    /// <summary>After position has been filled in the sequence.</summary>
    public void After(int position)
    {
        if (!pattern.Delayed) return; // an undelayed sequence is only reverted at the end
        int complete = pattern.FramesComplete(position);
        if (complete <= _reported) return;
        int count = complete - _reported, rows = pattern.Rows;
        var codes = new int[rows * count]; // [B, K, count]
        for (int row = 0; row < rows; row++)
            for (int f = 0; f < count; f++)
                codes[row * count + f] = sequence[row * pattern.MaxLength + pattern.PositionOf(row, _reported + f)];
        handler(codes, _reported, count);
        _reported = complete;
    }

    /// <summary>Reports what is left from the reverted codes [B, K, frames].</summary>
    public void Finish(int[] codes, int frames)
    {
        if (_reported >= frames) return;
        int count = frames - _reported, rows = codes.Length / frames;
        var rest = new int[rows * count];
        for (int row = 0; row < rows; row++) codes.AsSpan(row * frames + _reported, count).CopyTo(rest.AsSpan(row * count));
        handler(rest, _reported, count);
        _reported = frames;
    }
}
