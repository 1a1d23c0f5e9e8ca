using MusicGen.Loaders;

namespace MusicGen.Engine.Backends.Cpu;

/// <summary>
/// Large tensor arrays given back when their tensor is disposed and handed out again, cleared, to the next
/// allocation of the same length. The codec allocates and drops tensors of tens of megabytes layer after layer;
/// fresh ones cost a page fault per 4 KiB on first touch (about a fifth of a decode's time), reused ones only a
/// memset. Small arrays are left to the garbage collector. At most <see cref="RetainedLimit"/> floats are kept,
/// the most recently returned: sizes no longer asked for (a finished generation's key/value cache) give way to
/// those in use.
/// </summary>
internal sealed class BufferPool
{
    /// <summary>Arrays shorter than this (1 MiB) are not pooled.</summary>
    public const int MinimumLength = 1 << 18;

    /// <summary>Floats per work item when a reused array is cleared.</summary>
    private const int ClearChunk = 1 << 18;

    /// <summary>
    /// Floats held for reuse at most (128 MiB): decodes are as fast as with twice as much, and a long generation's
    /// peak memory, reached as its audio is decoded, is lower (README, Speed, has the figures).
    /// </summary>
    internal const long RetainedLimit = 1L << 25;

    private readonly List<float[]> _free = []; // oldest first
    private long _retained;
    private long _dropped; // floats of arrays left to the collector since it last ran

    /// <summary>An array of exactly this length, zero-filled if <paramref name="clear"/> (else its contents are undefined).</summary>
    public float[] Rent(int length, bool clear = true)
    {
        if (length >= MinimumLength)
        {
            float[]? reused = null;
            lock (_free)
            {
                int newest = _free.FindLastIndex(array => array.Length == length);
                if (newest >= 0)
                {
                    reused = _free[newest];
                    _free.RemoveAt(newest);
                    _retained -= length;
                }
            }
            if (reused is not null && !clear) return reused;
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
        var array = HugePages.NewArray<float>(length);
        if (clear) array.AsSpan().Clear();
        return array;
    }

    /// <summary>
    /// Takes an array back; the caller no longer touches it. The oldest arrays beyond the limit are left to the
    /// garbage collector, which is made to run once such arrays add up to half the limit: on its own it lets
    /// gigabytes of dropped activations and caches pile up before it collects.
    /// </summary>
    public void Return(float[] array)
    {
        if (array.Length < MinimumLength) return;
        lock (_free)
        {
            _free.Add(array);
            _retained += array.Length;
            while (_retained > RetainedLimit)
            {
                _retained -= _free[0].Length;
                _dropped += _free[0].Length;
                _free.RemoveAt(0);
            }
            if (_dropped < RetainedLimit / 2) return;
            _dropped = 0;
        }
        GC.Collect();
    }

    /// <summary>Bytes of the arrays held for reuse.</summary>
    public long RetainedBytes
    {
        get
        {
            lock (_free) return _retained * sizeof(float);
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
