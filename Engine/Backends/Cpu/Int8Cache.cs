using System.Runtime.CompilerServices;
using System.Runtime.Intrinsics;
using System.Runtime.Intrinsics.X86;
using MusicGen.Loaders.Checkpoints;

namespace MusicGen.Engine.Backends.Cpu;

/// <summary>
/// The q8 key/value cache's arithmetic (<see cref="CpuCacheBuffer"/>): elements in blocks of 32 consecutive ones,
/// each an int8 value q and its block's float32 scale d standing for d · q. Appending quantizes each block as
/// <see cref="PackedMatrix"/> quantizes a q8 weight row; attention's dot products and weighted sums convert the
/// values in registers, 16 (AVX-512) or 8 (AVX2) at a time with one scale each, a whole row's heads per call, so a
/// row is read once, at about a quarter of the float32 bytes. A row whose start or head dimension is not a multiple
/// of the vector takes the scalar loop.
/// </summary>
internal static unsafe class Int8Cache
{
    private const int Block = PackedMatrix.BlockSize;

    /// <summary>
    /// Quantizes x (whole blocks of 32) into values and one scale per block: d = max|x| / 127, q = x · (1 / d)
    /// rounded to the nearest integer, ties to even, as <see cref="PackedMatrix"/> does (exactly: the rounding
    /// of Vector256.Round is MathF.Round's).
    /// </summary>
    public static void Quantize(ReadOnlySpan<float> x, sbyte* values, float* scales)
    {
        if (x.Length % Block != 0) throw new ArgumentException($"{x.Length} elements are not whole q8 blocks of {Block}");
        fixed (float* source = x)
            for (int b = 0; b < x.Length / Block; b++)
            {
                float* block = source + b * Block;
                var a0 = Vector256.Load(block);
                var a1 = Vector256.Load(block + 8);
                var a2 = Vector256.Load(block + 16);
                var a3 = Vector256.Load(block + 24);
                var largest = Vector256.Max(Vector256.Max(Vector256.Abs(a0), Vector256.Abs(a1)), Vector256.Max(Vector256.Abs(a2), Vector256.Abs(a3)));
                float m = 0;
                for (int i = 0; i < Vector256<float>.Count; i++) m = MathF.Max(m, largest.GetElement(i));
                float d = m / 127f, inverse = d == 0 ? 0 : 1 / d;
                var scale = Vector256.Create(inverse);
                var low = Vector256.Narrow(Integers(a0, scale), Integers(a1, scale));
                var high = Vector256.Narrow(Integers(a2, scale), Integers(a3, scale));
                Vector256.Narrow(low, high).Store(values + b * Block);
                scales[b] = d;
            }

        static Vector256<int> Integers(Vector256<float> x, Vector256<float> inverse) =>
            Vector256.Min(Vector256.Max(Vector256.ConvertToInt32(Vector256.Round(x * inverse)), Vector256.Create(-127)), Vector256.Create(127));
    }

    /// <summary>
    /// dots[g] = x[g·dh, (g + 1)·dh) · elements [start + g·dh, start + (g + 1)·dh) of the cache whose values and
    /// scales these are, for the heads g &lt; heads of a row.
    /// </summary>
    public static void Dots(float* x, sbyte* values, float* scales, long start, int heads, int dh, float* dots) =>
        Dots(x, values, scales, start, heads, dh, dots, Avx512F.IsSupported);

    /// <summary><see cref="Dots(float*, sbyte*, float*, long, int, int, float*)"/> with AVX-512 or with AVX2.</summary>
    // Fully optimized from the first call: a generation's first steps must not run unoptimized kernels.
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    internal static void Dots(float* x, sbyte* values, float* scales, long start, int heads, int dh, float* dots, bool wide)
    {
        sbyte* q = values + start;
        int length = heads * dh;
        if (wide && PackedGemm.IsAccelerated && ((start | (long)dh) & 15) == 0)
        {
            for (int h = 0, g = 0; h < length; h += dh, g++)
            {
                var acc = Vector512<float>.Zero;
                for (int p = h; p < h + dh; p += 16)
                {
                    var weights = Vector512.Load(x + p) * Vector512.Create(scales[(start + p) / Block]);
                    acc = Avx512F.FusedMultiplyAdd(weights, Avx512F.ConvertToVector512Single(Avx512F.ConvertToVector512Int32(Vector128.Load(q + p))), acc);
                }
                dots[g] = Vector512.Sum(acc);
            }
            return;
        }
        if (PackedGemm.IsAccelerated && ((start | (long)dh) & 7) == 0)
        {
            for (int h = 0, g = 0; h < length; h += dh, g++)
            {
                var acc = Vector256<float>.Zero;
                for (int p = h; p < h + dh; p += 8)
                {
                    var weights = Vector256.Load(x + p) * Vector256.Create(scales[(start + p) / Block]);
                    acc = Fma.MultiplyAdd(weights, Avx.ConvertToVector256Single(Avx2.ConvertToVector256Int32(q + p)), acc);
                }
                dots[g] = Vector256.Sum(acc);
            }
            return;
        }
        for (int h = 0, g = 0; h < length; h += dh, g++)
        {
            float sum = 0;
            for (int p = h; p < h + dh; p++) sum += x[p] * (scales[(start + p) / Block] * q[p]);
            dots[g] = sum;
        }
    }

    /// <summary>
    /// sum[g·dh, (g + 1)·dh) += w[g] · elements [start + g·dh, start + (g + 1)·dh) of the cache whose values and
    /// scales these are, for the heads g &lt; heads of a row.
    /// </summary>
    public static void AddScaled(sbyte* values, float* scales, long start, int heads, int dh, float* w, float* sum) =>
        AddScaled(values, scales, start, heads, dh, w, sum, Avx512F.IsSupported);

    /// <summary><see cref="AddScaled(sbyte*, float*, long, int, int, float*, float*)"/> with AVX-512 or with AVX2.</summary>
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    internal static void AddScaled(sbyte* values, float* scales, long start, int heads, int dh, float* w, float* sum, bool wide)
    {
        sbyte* q = values + start;
        int length = heads * dh;
        if (wide && PackedGemm.IsAccelerated && ((start | (long)dh) & 15) == 0)
        {
            for (int h = 0, g = 0; h < length; h += dh, g++)
                for (int p = h; p < h + dh; p += 16)
                {
                    var weight = Vector512.Create(w[g] * scales[(start + p) / Block]);
                    var converted = Avx512F.ConvertToVector512Single(Avx512F.ConvertToVector512Int32(Vector128.Load(q + p)));
                    Avx512F.FusedMultiplyAdd(converted, weight, Vector512.Load(sum + p)).Store(sum + p);
                }
            return;
        }
        if (PackedGemm.IsAccelerated && ((start | (long)dh) & 7) == 0)
        {
            for (int h = 0, g = 0; h < length; h += dh, g++)
                for (int p = h; p < h + dh; p += 8)
                {
                    var weight = Vector256.Create(w[g] * scales[(start + p) / Block]);
                    Fma.MultiplyAdd(Avx.ConvertToVector256Single(Avx2.ConvertToVector256Int32(q + p)), weight, Vector256.Load(sum + p)).Store(sum + p);
                }
            return;
        }
        for (int h = 0, g = 0; h < length; h += dh, g++)
            for (int p = h; p < h + dh; p++) sum[p] += q[p] * (w[g] * scales[(start + p) / Block]);
    }
}
