namespace MusicGen.Engine.Models.Encodec;

/// <summary>
/// Row-major [rows, count] buffers of steps (frames or samples) that streaming code appends to and trims: each
/// row is one channel of one batch item.
/// </summary>
internal static class FrameColumns
{
    /// <summary>[rows, count + added] from [rows, count] and [rows, added].</summary>
    public static T[] Append<T>(T[] existing, int rows, int count, ReadOnlySpan<T> added, int addedCount)
    {
        var result = new T[rows * (count + addedCount)];
        for (int r = 0; r < rows; r++)
        {
            existing.AsSpan(r * count, count).CopyTo(result.AsSpan(r * (count + addedCount)));
            added.Slice(r * addedCount, addedCount).CopyTo(result.AsSpan(r * (count + addedCount) + count));
        }
        return result;
    }

    /// <summary>Columns [start, start + length) of [rows, count].</summary>
    public static T[] Slice<T>(T[] values, int rows, int count, int start, int length)
    {
        var result = new T[rows * length];
        for (int r = 0; r < rows; r++) values.AsSpan(r * count + start, length).CopyTo(result.AsSpan(r * length));
        return result;
    }
}
