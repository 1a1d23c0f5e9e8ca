using System.Diagnostics;
using System.Numerics;

namespace MusicGen.Cli.Bench;

/// <summary>
/// The machine's memory-read bandwidth: every core sums its share of a buffer far larger than the caches; the
/// best of a few passes counts. The buffer is kept, so that the bench can measure again beside each row it times:
/// on a shared machine other tenants' traffic moves the bandwidth by half within minutes, and a share of it means
/// something only against what the memory gave at the time.
/// </summary>
public sealed class MemoryBandwidth
{
    private readonly float[] _buffer;

    public MemoryBandwidth(int megabytes = 256)
    {
        _buffer = new float[megabytes * (1024 * 1024 / sizeof(float))];
        for (int i = 0; i < _buffer.Length; i += 1024) _buffer[i] = 1; // touch every page
    }

    public double MeasureGigabytesPerSecond(int passes = 5)
    {
        int workers = Environment.ProcessorCount;
        double best = double.MaxValue;
        float sink = 0;
        for (int pass = 0; pass < passes; pass++)
        {
            var partial = new float[workers];
            var stopwatch = Stopwatch.StartNew();
            Parallel.For(0, workers, w =>
            {
                int start = (int)((long)_buffer.Length * w / workers), end = (int)((long)_buffer.Length * (w + 1) / workers);
                var span = _buffer.AsSpan(start, end - start);
                var a = Vector<float>.Zero;
                var b = Vector<float>.Zero;
                int width = Vector<float>.Count, i = 0;
                for (; i <= span.Length - 2 * width; i += 2 * width)
                {
                    a += new Vector<float>(span.Slice(i, width));
                    b += new Vector<float>(span.Slice(i + width, width));
                }
                partial[w] = Vector.Sum(a + b);
            });
            best = Math.Min(best, stopwatch.Elapsed.TotalSeconds);
            sink += partial.Sum();
        }
        GC.KeepAlive(sink);
        return (double)_buffer.Length * sizeof(float) / best / 1e9;
    }
}
