namespace MusicGen.Engine.Backends.Cpu;

/// <summary>
/// Large tensor arrays given back when their tensor is disposed and handed out again, cleared, to the next
/// allocation of the same length. The codec allocates and drops tensors of tens of megabytes layer after layer;
/// fresh ones cost a page fault per 4 KiB on first touch (about a fifth of a decode's time), reused ones only a
/// memset. Small arrays are left to the garbage collector, and at most <see cref="RetainedLimit"/> floats are kept.
/// </summary>
internal sealed class BufferPool
{
    /// <summary>Arrays shorter than this (4 MiB) are not pooled.</summary>
    public const int MinimumLength = 1 << 20;

    /// <summary>Floats per work item when a reused array is cleared.</summary>
    private const int ClearChunk = 1 << 18;

    /// <summary>At most 512 MiB are held for reuse: one codec stage's working set at 10 s of audio.</summary>
    private const long RetainedLimit = 1L << 27;

    private readonly Dictionary<int, Stack<float[]>> _free = [];
    private long _retained;

    /// <summary>A zero-filled array of exactly this length.</summary>
    public float[] Rent(int length)
    {
        if (length >= MinimumLength)
        {
            float[]? reused = null;
            lock (_free)
            {
                if (_free.TryGetValue(length, out var stack) && stack.TryPop(out reused)) _retained -= length;
            }
            if (reused is not null)
            {
                // Tens of megabytes: clearing on every core takes about half the time of one.
                CpuParallel.For((length + ClearChunk - 1) / ClearChunk, ClearChunk, reused, static (in array, start, end) =>
                {
                    long first = (long)start * ClearChunk;
                    array.AsSpan((int)first, (int)(Math.Min(array.Length, (long)end * ClearChunk) - first)).Clear();
                });
                return reused;
            }
        }
        return new float[length];
    }

    /// <summary>Takes an array back; the caller no longer touches it.</summary>
    public void Return(float[] array)
    {
        if (array.Length < MinimumLength) return;
        lock (_free)
        {
            if (_retained + array.Length > RetainedLimit) return;
            if (!_free.TryGetValue(array.Length, out var stack)) _free[array.Length] = stack = new Stack<float[]>();
            stack.Push(array);
            _retained += array.Length;
        }
    }

    public void Clear()
    {
        lock (_free)
        {
            _free.Clear();
            _retained = 0;
        }
    }
}
