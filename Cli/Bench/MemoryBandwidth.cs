using System.Diagnostics;
using System.Numerics;

namespace MusicGen.Cli.Bench;

/// <summary>
/// The machine's memory-read bandwidth: every core sums its share of a buffer far larger than the caches; the
/// best of a few passes counts.
/// </summary>
public static class MemoryBandwidth
{
    public static double MeasureGigabytesPerSecond(int megabytes = 1024, int passes = 5)
    {
        var buffer = new float[megabytes * (1024 * 1024 / sizeof(float))];
        for (int i = 0; i < buffer.Length; i += 1024) buffer[i] = 1; // touch every page
        int workers = Environment.ProcessorCount;
        double best = double.MaxValue;
        float sink = 0;
        for (int pass = 0; pass < passes; pass++)
        {
            var partial = new float[workers];
            var stopwatch = Stopwatch.StartNew();
            Parallel.For(0, workers, w =>
            {
                int start = (int)((long)buffer.Length * w / workers), end = (int)((long)buffer.Length * (w + 1) / workers);
                var span = buffer.AsSpan(start, end - start);
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
        return (double)buffer.Length * sizeof(float) / best / 1e9;
    }
}
