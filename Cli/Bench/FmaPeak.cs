using System.Diagnostics;
using System.Numerics;
using System.Runtime.CompilerServices;
using System.Runtime.Intrinsics;

namespace MusicGen.Cli.Bench;

/// <summary>
/// The machine's float32 arithmetic peak: every core runs a loop of fused multiply-adds on independent register
/// accumulators (enough to hide the FMA latency), with the widest vectors the runtime accelerates; the best of a
/// few passes counts. No memory is touched, so this is the ceiling a compute-bound kernel is measured against.
/// </summary>
public static class FmaPeak
{
    private const int Iterations = 4_000_000;

    public static double MeasureGigaflops(int passes = 5)
    {
        int workers = Environment.ProcessorCount;
        int lanes = Vector512.IsHardwareAccelerated ? Vector512<float>.Count : Vector<float>.Count;
        double best = double.MaxValue;
        for (int pass = 0; pass < passes; pass++)
        {
            var stopwatch = Stopwatch.StartNew();
            Parallel.For(0, workers, new ParallelOptions { MaxDegreeOfParallelism = workers }, _ =>
                GC.KeepAlive(Vector512.IsHardwareAccelerated ? Loop512(Iterations) : LoopVector(Iterations)));
            best = Math.Min(best, stopwatch.Elapsed.TotalSeconds);
        }
        return 2.0 * lanes * Accumulators * Iterations * workers / best / 1e9;
    }

    private const int Accumulators = 12;

    [MethodImpl(MethodImplOptions.NoInlining)]
    private static float Loop512(int iterations)
    {
        var m = Vector512.Create(0.999999f);
        var a = Vector512.Create(1e-7f);
        Vector512<float> c0 = Vector512<float>.One, c1 = c0, c2 = c0, c3 = c0, c4 = c0, c5 = c0, c6 = c0, c7 = c0, c8 = c0, c9 = c0, c10 = c0, c11 = c0;
        for (int i = 0; i < iterations; i++)
        {
            c0 = Vector512.FusedMultiplyAdd(c0, m, a); c1 = Vector512.FusedMultiplyAdd(c1, m, a); c2 = Vector512.FusedMultiplyAdd(c2, m, a);
            c3 = Vector512.FusedMultiplyAdd(c3, m, a); c4 = Vector512.FusedMultiplyAdd(c4, m, a); c5 = Vector512.FusedMultiplyAdd(c5, m, a);
            c6 = Vector512.FusedMultiplyAdd(c6, m, a); c7 = Vector512.FusedMultiplyAdd(c7, m, a); c8 = Vector512.FusedMultiplyAdd(c8, m, a);
            c9 = Vector512.FusedMultiplyAdd(c9, m, a); c10 = Vector512.FusedMultiplyAdd(c10, m, a); c11 = Vector512.FusedMultiplyAdd(c11, m, a);
        }
        return Vector512.Sum(c0 + c1 + c2 + c3 + c4 + c5 + c6 + c7 + c8 + c9 + c10 + c11);
    }

    [MethodImpl(MethodImplOptions.NoInlining)]
    private static float LoopVector(int iterations)
    {
        var m = new Vector<float>(0.999999f);
        var a = new Vector<float>(1e-7f);
        Vector<float> c0 = Vector<float>.One, c1 = c0, c2 = c0, c3 = c0, c4 = c0, c5 = c0, c6 = c0, c7 = c0, c8 = c0, c9 = c0, c10 = c0, c11 = c0;
        for (int i = 0; i < iterations; i++)
        {
            c0 = Vector.FusedMultiplyAdd(c0, m, a); c1 = Vector.FusedMultiplyAdd(c1, m, a); c2 = Vector.FusedMultiplyAdd(c2, m, a);
            c3 = Vector.FusedMultiplyAdd(c3, m, a); c4 = Vector.FusedMultiplyAdd(c4, m, a); c5 = Vector.FusedMultiplyAdd(c5, m, a);
            c6 = Vector.FusedMultiplyAdd(c6, m, a); c7 = Vector.FusedMultiplyAdd(c7, m, a); c8 = Vector.FusedMultiplyAdd(c8, m, a);
            c9 = Vector.FusedMultiplyAdd(c9, m, a); c10 = Vector.FusedMultiplyAdd(c10, m, a); c11 = Vector.FusedMultiplyAdd(c11, m, a);
        }
        return Vector.Sum(c0 + c1 + c2 + c3 + c4 + c5 + c6 + c7 + c8 + c9 + c10 + c11);
    }
}
