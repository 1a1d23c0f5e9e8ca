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

    /// <summary>The head dimension the tile kernels take: two blocks, as every MusicGen size's heads have.</summary>
    public const int TileHeadDim = 2 * Block;

    /// <summary>Keys (cache rows) per call of the tile kernels.</summary>
    public const int Tile = 16;

    /// <summary>Whether <see cref="TileDots"/> runs here: it needs the 8-bit integer dot products of AVX-VNNI.</summary>
    public static bool IntegerDots => AvxVnni.IsSupported && PackedGemm.IsAccelerated;

    /// <summary>
    /// scores[g·scoreStride + k] = scale · (query head g · head g of row k) for the rows k &lt; <see cref="Tile"/>
    /// that start at elements start + k·rowStride, heads of <see cref="TileHeadDim"/>, with the query already
    /// quantized per block (xq, xs: <see cref="Quantize"/>). Each (row, block) product is summed exactly in int32 by
    /// vpdpbusd, the key's bytes offset by 128 to be unsigned and the offset's share (128 · the query's sum over the
    /// lane's 4 bytes) subtracted up front; 8 such sums are reduced together by one tree of shuffles, not one by one.
    /// </summary>
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    internal static void TileDots(sbyte* xq, float* xs, sbyte* values, float* scales, long start, int rowStride, int heads, float scale, float* scores, int scoreStride)
    {
        if (((start | (long)rowStride) & (Block - 1)) != 0) throw new ArgumentException($"rows from {start} every {rowStride} elements do not start on q8 blocks");
        var offset = Vector256.Create((byte)0x80);
        var biases = stackalloc Vector256<int>[2 * heads];
        var queryScales = stackalloc Vector256<float>[heads];
        for (int g = 0; g < heads; g++)
        {
            biases[2 * g] = -AvxVnni.MultiplyWideningAndAdd(Vector256<int>.Zero, offset, Vector256.Load(xq + g * TileHeadDim));
            biases[2 * g + 1] = -AvxVnni.MultiplyWideningAndAdd(Vector256<int>.Zero, offset, Vector256.Load(xq + g * TileHeadDim + Block));
            queryScales[g] = Vector256.Create(xs[2 * g], xs[2 * g + 1], xs[2 * g], xs[2 * g + 1], xs[2 * g], xs[2 * g + 1], xs[2 * g], xs[2 * g + 1]) * scale;
        }
        // Eight rows at a time, head after head: the eight rows stream through memory side by side.
        for (int k = 0; k < Tile; k += 8)
            for (int g = 0; g < heads; g++)
            {
                var x0 = Vector256.Load(xq + g * TileHeadDim);
                var x1 = Vector256.Load(xq + g * TileHeadDim + Block);
                var bias0 = biases[2 * g];
                var bias1 = biases[2 * g + 1];
                long e = start + (long)k * rowStride + g * TileHeadDim;
                PrefetchHeads(values, scales, e + (long)Tile * rowStride, rowStride, 8, g);
                var first = Four(e);
                var second = Four(e + 4L * rowStride);
                // [k0 k1 k4 k5 | k2 k3 k6 k7], then the 64-bit pairs in order.
                var pairs = Avx.HorizontalAdd(first, second);
                Avx2.Permute4x64(pairs.AsDouble(), 0b11_01_10_00).AsSingle().Store(scores + g * scoreStride + k);

                // [k0b0 k0b1 k1b0 k1b1 k2b0 k2b1 k3b0 k3b1]: rows k0..k3 from element e on, times both scales.
                [MethodImpl(MethodImplOptions.AggressiveInlining)]
                Vector256<float> Four(long e)
                {
                    var a0 = Product(e, 0); var a1 = Product(e, Block);
                    var a2 = Product(e + rowStride, 0); var a3 = Product(e + rowStride, Block);
                    var a4 = Product(e + 2L * rowStride, 0); var a5 = Product(e + 2L * rowStride, Block);
                    var a6 = Product(e + 3L * rowStride, 0); var a7 = Product(e + 3L * rowStride, Block);
                    var p0 = Avx2.UnpackLow(a0, a1) + Avx2.UnpackHigh(a0, a1);
                    var p1 = Avx2.UnpackLow(a2, a3) + Avx2.UnpackHigh(a2, a3);
                    var p2 = Avx2.UnpackLow(a4, a5) + Avx2.UnpackHigh(a4, a5);
                    var p3 = Avx2.UnpackLow(a6, a7) + Avx2.UnpackHigh(a6, a7);
                    var q0 = Avx2.UnpackLow(p0.AsInt64(), p1.AsInt64()).AsInt32() + Avx2.UnpackHigh(p0.AsInt64(), p1.AsInt64()).AsInt32();
                    var q1 = Avx2.UnpackLow(p2.AsInt64(), p3.AsInt64()).AsInt32() + Avx2.UnpackHigh(p2.AsInt64(), p3.AsInt64()).AsInt32();
                    var sums = Avx2.Permute2x128(q0, q1, 0x20) + Avx2.Permute2x128(q0, q1, 0x31);
                    var keyScales = Vector256.Create(
                        *(long*)(scales + e / Block), *(long*)(scales + (e + rowStride) / Block),
                        *(long*)(scales + (e + 2L * rowStride) / Block), *(long*)(scales + (e + 3L * rowStride) / Block)).AsSingle();
                    return Avx.ConvertToVector256Single(sums) * keyScales * queryScales[g];
                }

                [MethodImpl(MethodImplOptions.AggressiveInlining)]
                Vector256<int> Product(long e, int block) => AvxVnni.MultiplyWideningAndAdd(
                    block == 0 ? bias0 : bias1, Vector256.Load((byte*)(values + e + block)) ^ offset, block == 0 ? x0 : x1);
            }
    }

    /// <summary>
    /// Asks for head g of rows rows from element e on (every rowStride) to be brought into L2, with their scales'
    /// line where g is the first head on it. Prefetching past the cache's end is harmless: a prefetch never faults.
    /// </summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static void PrefetchHeads(sbyte* values, float* scales, long e, int rowStride, int rows, int g)
    {
        if (!Sse.IsSupported) return;
        for (int k = 0; k < rows; k++) Sse.Prefetch1(values + e + (long)k * rowStride);
        if (g % (64 / (2 * sizeof(float))) != 0) return;
        for (int k = 0; k < rows; k++) Sse.Prefetch1(scales + (e + (long)k * rowStride) / Block);
    }

    /// <summary>
    /// sum[g·dh, (g + 1)·dh) += w[g·wStride + k] · head g of row k, for the rows k &lt; <see cref="Tile"/> that start at
    /// elements start + k·rowStride, heads of dh = <see cref="TileHeadDim"/>: a head's sums stay in registers across the
    /// tile's rows, each row added in turn as <see cref="AddScaled(sbyte*, float*, long, int, int, float*, float*, bool)"/> adds it.
    /// </summary>
    public static void TileAddScaled(sbyte* values, float* scales, long start, int rowStride, int heads, float* w, int wStride, float* sum) =>
        TileAddScaled(values, scales, start, rowStride, heads, w, wStride, sum, Avx512F.IsSupported);

    /// <summary><see cref="TileAddScaled(sbyte*, float*, long, int, int, float*, int, float*)"/> with AVX-512 or with AVX2.</summary>
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    internal static void TileAddScaled(sbyte* values, float* scales, long start, int rowStride, int heads, float* w, int wStride, float* sum, bool wide)
    {
        if (((start | (long)rowStride) & (Block - 1)) != 0) throw new ArgumentException($"rows from {start} every {rowStride} elements do not start on q8 blocks");
        for (int g = 0; g < heads; g++)
        {
            float* s = sum + g * TileHeadDim;
            long head = start + g * TileHeadDim;
            PrefetchHeads(values, scales, head + (long)Tile * rowStride, rowStride, Tile, g);
            if (wide)
            {
                var s0 = Vector512.Load(s); var s1 = Vector512.Load(s + 16); var s2 = Vector512.Load(s + 32); var s3 = Vector512.Load(s + 48);
                for (int k = 0; k < Tile; k++)
                {
                    long e = head + (long)k * rowStride;
                    sbyte* q = values + e;
                    float weight = w[g * wStride + k];
                    var low = Vector512.Create(weight * scales[e / Block]);
                    var high = Vector512.Create(weight * scales[e / Block + 1]);
                    s0 = Avx512F.FusedMultiplyAdd(Avx512F.ConvertToVector512Single(Avx512F.ConvertToVector512Int32(Vector128.Load(q))), low, s0);
                    s1 = Avx512F.FusedMultiplyAdd(Avx512F.ConvertToVector512Single(Avx512F.ConvertToVector512Int32(Vector128.Load(q + 16))), low, s1);
                    s2 = Avx512F.FusedMultiplyAdd(Avx512F.ConvertToVector512Single(Avx512F.ConvertToVector512Int32(Vector128.Load(q + 32))), high, s2);
                    s3 = Avx512F.FusedMultiplyAdd(Avx512F.ConvertToVector512Single(Avx512F.ConvertToVector512Int32(Vector128.Load(q + 48))), high, s3);
                }
                s0.Store(s); s1.Store(s + 16); s2.Store(s + 32); s3.Store(s + 48);
                continue;
            }
            var t0 = Vector256.Load(s); var t1 = Vector256.Load(s + 8); var t2 = Vector256.Load(s + 16); var t3 = Vector256.Load(s + 24);
            var t4 = Vector256.Load(s + 32); var t5 = Vector256.Load(s + 40); var t6 = Vector256.Load(s + 48); var t7 = Vector256.Load(s + 56);
            for (int k = 0; k < Tile; k++)
            {
                long e = head + (long)k * rowStride;
                sbyte* q = values + e;
                float weight = w[g * wStride + k];
                var low = Vector256.Create(weight * scales[e / Block]);
                var high = Vector256.Create(weight * scales[e / Block + 1]);
                t0 = Fma.MultiplyAdd(Avx.ConvertToVector256Single(Avx2.ConvertToVector256Int32(q)), low, t0);
                t1 = Fma.MultiplyAdd(Avx.ConvertToVector256Single(Avx2.ConvertToVector256Int32(q + 8)), low, t1);
                t2 = Fma.MultiplyAdd(Avx.ConvertToVector256Single(Avx2.ConvertToVector256Int32(q + 16)), low, t2);
                t3 = Fma.MultiplyAdd(Avx.ConvertToVector256Single(Avx2.ConvertToVector256Int32(q + 24)), low, t3);
                t4 = Fma.MultiplyAdd(Avx.ConvertToVector256Single(Avx2.ConvertToVector256Int32(q + 32)), high, t4);
                t5 = Fma.MultiplyAdd(Avx.ConvertToVector256Single(Avx2.ConvertToVector256Int32(q + 40)), high, t5);
                t6 = Fma.MultiplyAdd(Avx.ConvertToVector256Single(Avx2.ConvertToVector256Int32(q + 48)), high, t6);
                t7 = Fma.MultiplyAdd(Avx.ConvertToVector256Single(Avx2.ConvertToVector256Int32(q + 56)), high, t7);
            }
            t0.Store(s); t1.Store(s + 8); t2.Store(s + 16); t3.Store(s + 24); t4.Store(s + 32); t5.Store(s + 40); t6.Store(s + 48); t7.Store(s + 56);
        }
    }
}
