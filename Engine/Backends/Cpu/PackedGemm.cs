using System.Runtime.CompilerServices;
using System.Runtime.Intrinsics;
using System.Runtime.Intrinsics.X86;
using MusicGen.Loaders.Checkpoints;

namespace MusicGen.Engine.Backends.Cpu;

/// <summary>
/// y[M, N] = x[M, K] · W[N, K]ᵀ for a packed weight matrix W (layouts in <see cref="PackedMatrix"/>), on AVX2 with
/// FMA or AVX-512F. The skinny path (a decoding step's few rows) converts 8 (AVX-512: 32) columns of a weight row
/// at a time to float32 in registers, block scale applied, and multiplies them against up to 2 (4) rows of x, 4
/// weight rows at once, while the next 4 rows are prefetched: W is streamed from memory once and the cores keep up
/// with it. Wide products instead decode a panel of weight rows to float32 and reuse the float32 GEMM, which
/// amortizes the decoding over every row of x.
/// </summary>
internal static unsafe class PackedGemm
{
    /// <summary>Up to this many rows of x the weights are decoded in registers, once per 4 rows of x.</summary>
    public const int SkinnyMaxRows = 16;

    /// <summary>Whether this CPU runs the vectorized kernels; otherwise every product goes through decoded panels.</summary>
    public static bool IsAccelerated => Avx2.IsSupported && Fma.IsSupported;

    /// <summary>y[i, j] = x[i, :] · W[j, :] for every row i &lt; m of x and rows j in [j0, j1) of W.</summary>
    public static void Skinny(WeightType type, float* x, int m, int k, byte* w, float* scales, float* y, int n, int j0, int j1) =>
        Skinny(type, x, m, k, w, scales, y, n, j0, j1, Avx512F.IsSupported);

    /// <summary><see cref="Skinny(WeightType, float*, int, int, byte*, float*, float*, int, int, int)"/> with the AVX-512 kernels or the AVX2 ones.</summary>
    internal static void Skinny(WeightType type, float* x, int m, int k, byte* w, float* scales, float* y, int n, int j0, int j1, bool wide)
    {
        switch (type)
        {
            case WeightType.F16: Rows<Half16>(x, m, k, w, scales, y, n, j0, j1, wide); break;
            case WeightType.BF16: Rows<Brain16>(x, m, k, w, scales, y, n, j0, j1, wide); break;
            case WeightType.Q8: Rows<Int8Blocks>(x, m, k, w, scales, y, n, j0, j1, wide); break;
            case WeightType.Q4: Rows<Int4Blocks>(x, m, k, w, scales, y, n, j0, j1, wide); break;
            default: throw new ArgumentOutOfRangeException(nameof(type));
        }
    }

    /// <summary>Rows [j0, j1) of W in float32 into panel [j1 − j0, k].</summary>
    public static void Decode(WeightType type, int k, byte* w, float* scales, int j0, int j1, float* panel)
    {
        switch (type)
        {
            case WeightType.F16: DecodeRows<Half16>(k, w, scales, j0, j1, panel); break;
            case WeightType.BF16: DecodeRows<Brain16>(k, w, scales, j0, j1, panel); break;
            case WeightType.Q8: DecodeRows<Int8Blocks>(k, w, scales, j0, j1, panel); break;
            case WeightType.Q4: DecodeRows<Int4Blocks>(k, w, scales, j0, j1, panel); break;
            default: throw new ArgumentOutOfRangeException(nameof(type));
        }
    }

    /// <summary>
    /// x · y for a float16 y (a row of a key cache), converted in registers as the float16 weights are (exactly;
    /// finite values: an infinity reads as 2¹⁶): converting rows into a buffer first made attention over a float16
    /// cache compute-bound, no faster than over a float32 one.
    /// </summary>
    public static float DotHalf(ReadOnlySpan<float> x, ReadOnlySpan<Half> y) => DotHalf(x, y, Avx512F.IsSupported);

    /// <summary><see cref="DotHalf(ReadOnlySpan{float}, ReadOnlySpan{Half})"/> with AVX-512 or with AVX2.</summary>
    internal static float DotHalf(ReadOnlySpan<float> x, ReadOnlySpan<Half> y, bool wide)
    {
        if (x.Length != y.Length) throw new ArgumentException("DotHalf: lengths differ");
        fixed (float* a = x)
        fixed (Half* b = y)
        {
            int p = 0;
            float sum = 0;
            if (wide && IsAccelerated)
            {
                var acc = Vector512<float>.Zero;
                for (; p + 16 <= x.Length; p += 16) acc = Avx512F.FusedMultiplyAdd(Vector512.Load(a + p), Half16.Load16((byte*)b, p), acc);
                sum = Vector512.Sum(acc);
            }
            else if (IsAccelerated)
            {
                var acc = Vector256<float>.Zero;
                for (; p + 8 <= x.Length; p += 8) acc = Fma.MultiplyAdd(Vector256.Load(a + p), Half16.Load8((byte*)b, null, p), acc);
                sum = Vector256.Sum(acc);
            }
            for (; p < x.Length; p++) sum += a[p] * (float)b[p];
            return sum;
        }
    }

    /// <summary>sum += v · w for a float16 v (a row of a value cache), converted in registers as in <see cref="DotHalf(ReadOnlySpan{float}, ReadOnlySpan{Half})"/>.</summary>
    public static void AddScaledHalf(ReadOnlySpan<Half> v, float w, Span<float> sum) => AddScaledHalf(v, w, sum, Avx512F.IsSupported);

    /// <summary><see cref="AddScaledHalf(ReadOnlySpan{Half}, float, Span{float})"/> with AVX-512 or with AVX2.</summary>
    internal static void AddScaledHalf(ReadOnlySpan<Half> v, float w, Span<float> sum, bool wide)
    {
        if (v.Length != sum.Length) throw new ArgumentException("AddScaledHalf: lengths differ");
        fixed (Half* a = v)
        fixed (float* y = sum)
        {
            int p = 0;
            if (wide && IsAccelerated)
            {
                var weight = Vector512.Create(w);
                for (; p + 16 <= v.Length; p += 16) Vector512.Store(Avx512F.FusedMultiplyAdd(Half16.Load16((byte*)a, p), weight, Vector512.Load(y + p)), y + p);
            }
            else if (IsAccelerated)
            {
                var weight = Vector256.Create(w);
                for (; p + 8 <= v.Length; p += 8) Avx.Store(y + p, Fma.MultiplyAdd(Half16.Load8((byte*)a, null, p), weight, Vector256.Load(y + p)));
            }
            for (; p < v.Length; p++) y[p] += (float)a[p] * w;
        }
    }

    /// <summary>
    /// Groups of 4 weight rows against the rows of x, 4 (AVX2: 2) rows of x at a time: 16 (8) independent
    /// accumulators, so neither an FMA's latency nor a horizontal sum per output bounds the loop, and every x
    /// vector loaded serves 4 weight rows. A group short of 4 rows repeats its last row and stores only its own.
    /// </summary>
    private static void Rows<TFormat>(float* x, int m, int k, byte* w, float* scales, float* y, int n, int j0, int j1, bool wide)
        where TFormat : struct, IPackedFormat
    {
        for (int j = j0; j < j1; j += 4)
        {
            var group = new RowGroup<TFormat>(w, scales, k, j, Math.Min(4, j1 - j));
            int i = 0;
            if (wide)
            {
                for (; i + 4 <= m; i += 4) Group512<TFormat, Four>(group, x + (long)i * k, k, y + (long)i * n, n);
                switch (m - i)
                {
                    case 3: Group512<TFormat, Three>(group, x + (long)i * k, k, y + (long)i * n, n); break;
                    case 2: Group512<TFormat, Two>(group, x + (long)i * k, k, y + (long)i * n, n); break;
                    case 1: Group512<TFormat, One>(group, x + (long)i * k, k, y + (long)i * n, n); break;
                }
                continue;
            }
            for (; i + 2 <= m; i += 2) Group256<TFormat, Two>(group, x + (long)i * k, k, y + (long)i * n, n);
            if (i < m) Group256<TFormat, One>(group, x + (long)i * k, k, y + (long)i * n, n);
        }
    }

    /// <summary>Where the (up to) 4 weight rows of a group start; a short group repeats its last row.</summary>
    private readonly struct RowGroup<TFormat> where TFormat : struct, IPackedFormat
    {
        public readonly byte* Row0, Row1, Row2, Row3;
        public readonly float* Scales0, Scales1, Scales2, Scales3;
        public readonly int First, Count;

        public RowGroup(byte* w, float* scales, int k, int first, int count)
        {
            First = first;
            Count = count;
            int blocks = k / PackedMatrix.BlockSize;
            int last = first + count - 1;
            Row0 = w + TFormat.RowBytes(first, k);
            Row1 = w + TFormat.RowBytes(Math.Min(first + 1, last), k);
            Row2 = w + TFormat.RowBytes(Math.Min(first + 2, last), k);
            Row3 = w + TFormat.RowBytes(last, k);
            Scales0 = scales + (long)first * blocks;
            Scales1 = scales + (long)Math.Min(first + 1, last) * blocks;
            Scales2 = scales + (long)Math.Min(first + 2, last) * blocks;
            Scales3 = scales + (long)last * blocks;
        }
    }

    /// <summary>y[r, group] = x[r, :] · W[group, :] for the TRows rows of x starting at x, with 512-bit vectors.</summary>
    // Fully optimized from the first call: a generation's first steps must not run unoptimized kernels.
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    private static void Group512<TFormat, TRows>(in RowGroup<TFormat> g, float* x, int k, float* y, int n)
        where TFormat : struct, IPackedFormat where TRows : struct, IRowCount
    {
        // a{weight row}{row of x}
        Vector512<float> a00 = default, a01 = default, a02 = default, a03 = default;
        Vector512<float> a10 = default, a11 = default, a12 = default, a13 = default;
        Vector512<float> a20 = default, a21 = default, a22 = default, a23 = default;
        Vector512<float> a30 = default, a31 = default, a32 = default, a33 = default;
        byte* r0 = g.Row0, r1 = g.Row1, r2 = g.Row2, r3 = g.Row3;
        float* s0 = g.Scales0, s1 = g.Scales1, s2 = g.Scales2, s3 = g.Scales3;
        // The next group's weights follow this group's rows; fetching them into L2 while this group computes
        // keeps more cache misses in flight than the hardware prefetcher does for 4 interleaved short rows.
        byte* next = r0 + TFormat.RowBytes(4, k);
        byte* nextScales = (byte*)(s0 + 4 * (k / PackedMatrix.BlockSize));
        int p = 0;
        // 32 columns per pass: a block of q8 or q4 is decoded with one scale broadcast (q4: one table, one load).
        for (; p + 32 <= k; p += 32)
        {
            TFormat.Prefetch32(next, p);
            if (TFormat.Blocked) Sse.Prefetch1(nextScales + p / 2);
            var x0 = Vector512.Load(x + p);
            var x1 = TRows.Count > 1 ? Vector512.Load(x + k + p) : default;
            var x2 = TRows.Count > 2 ? Vector512.Load(x + 2L * k + p) : default;
            var x3 = TRows.Count > 3 ? Vector512.Load(x + 3L * k + p) : default;
            var z0 = Vector512.Load(x + p + 16);
            var z1 = TRows.Count > 1 ? Vector512.Load(x + k + p + 16) : default;
            var z2 = TRows.Count > 2 ? Vector512.Load(x + 2L * k + p + 16) : default;
            var z3 = TRows.Count > 3 ? Vector512.Load(x + 3L * k + p + 16) : default;
            TFormat.Load32(r0, s0, p, out var lo, out var hi);
            a00 = Avx512F.FusedMultiplyAdd(hi, z0, Avx512F.FusedMultiplyAdd(lo, x0, a00));
            if (TRows.Count > 1) a01 = Avx512F.FusedMultiplyAdd(hi, z1, Avx512F.FusedMultiplyAdd(lo, x1, a01));
            if (TRows.Count > 2) a02 = Avx512F.FusedMultiplyAdd(hi, z2, Avx512F.FusedMultiplyAdd(lo, x2, a02));
            if (TRows.Count > 3) a03 = Avx512F.FusedMultiplyAdd(hi, z3, Avx512F.FusedMultiplyAdd(lo, x3, a03));
            TFormat.Load32(r1, s1, p, out lo, out hi);
            a10 = Avx512F.FusedMultiplyAdd(hi, z0, Avx512F.FusedMultiplyAdd(lo, x0, a10));
            if (TRows.Count > 1) a11 = Avx512F.FusedMultiplyAdd(hi, z1, Avx512F.FusedMultiplyAdd(lo, x1, a11));
            if (TRows.Count > 2) a12 = Avx512F.FusedMultiplyAdd(hi, z2, Avx512F.FusedMultiplyAdd(lo, x2, a12));
            if (TRows.Count > 3) a13 = Avx512F.FusedMultiplyAdd(hi, z3, Avx512F.FusedMultiplyAdd(lo, x3, a13));
            TFormat.Load32(r2, s2, p, out lo, out hi);
            a20 = Avx512F.FusedMultiplyAdd(hi, z0, Avx512F.FusedMultiplyAdd(lo, x0, a20));
            if (TRows.Count > 1) a21 = Avx512F.FusedMultiplyAdd(hi, z1, Avx512F.FusedMultiplyAdd(lo, x1, a21));
            if (TRows.Count > 2) a22 = Avx512F.FusedMultiplyAdd(hi, z2, Avx512F.FusedMultiplyAdd(lo, x2, a22));
            if (TRows.Count > 3) a23 = Avx512F.FusedMultiplyAdd(hi, z3, Avx512F.FusedMultiplyAdd(lo, x3, a23));
            TFormat.Load32(r3, s3, p, out lo, out hi);
            a30 = Avx512F.FusedMultiplyAdd(hi, z0, Avx512F.FusedMultiplyAdd(lo, x0, a30));
            if (TRows.Count > 1) a31 = Avx512F.FusedMultiplyAdd(hi, z1, Avx512F.FusedMultiplyAdd(lo, x1, a31));
            if (TRows.Count > 2) a32 = Avx512F.FusedMultiplyAdd(hi, z2, Avx512F.FusedMultiplyAdd(lo, x2, a32));
            if (TRows.Count > 3) a33 = Avx512F.FusedMultiplyAdd(hi, z3, Avx512F.FusedMultiplyAdd(lo, x3, a33));
        }
        // Every sum goes to memory before the first call: the JIT spills in the loop an accumulator that is
        // live across a call, and would otherwise move the sums after the calls.
        var sums = stackalloc Vector128<float>[TRows.Count];
        sums[0] = Sum4(a00, a10, a20, a30);
        if (TRows.Count > 1) sums[1] = Sum4(a01, a11, a21, a31);
        if (TRows.Count > 2) sums[2] = Sum4(a02, a12, a22, a32);
        if (TRows.Count > 3) sums[3] = Sum4(a03, a13, a23, a33);
        for (int r = 0; r < TRows.Count; r++) Store(g, p, x + (long)r * k, k, y + (long)r * n, sums[r]);
    }

    /// <summary><see cref="Group512{TFormat, TRows}"/> with 256-bit vectors and at most 2 rows of x (16 registers).</summary>
    // Fully optimized from the first call: a generation's first steps must not run unoptimized kernels.
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    private static void Group256<TFormat, TRows>(in RowGroup<TFormat> g, float* x, int k, float* y, int n)
        where TFormat : struct, IPackedFormat where TRows : struct, IRowCount
    {
        Vector256<float> a00 = default, a01 = default, a10 = default, a11 = default;
        Vector256<float> a20 = default, a21 = default, a30 = default, a31 = default;
        byte* r0 = g.Row0, r1 = g.Row1, r2 = g.Row2, r3 = g.Row3;
        float* s0 = g.Scales0, s1 = g.Scales1, s2 = g.Scales2, s3 = g.Scales3;
        byte* next = r0 + TFormat.RowBytes(4, k);
        int p = 0;
        for (; p + 8 <= k; p += 8)
        {
            if ((p & 31) == 0) TFormat.Prefetch32(next, p);
            var x0 = Avx.LoadVector256(x + p);
            var x1 = TRows.Count > 1 ? Avx.LoadVector256(x + k + p) : default;
            var v = TFormat.Load8(r0, s0, p);
            a00 = Fma.MultiplyAdd(v, x0, a00);
            if (TRows.Count > 1) a01 = Fma.MultiplyAdd(v, x1, a01);
            v = TFormat.Load8(r1, s1, p);
            a10 = Fma.MultiplyAdd(v, x0, a10);
            if (TRows.Count > 1) a11 = Fma.MultiplyAdd(v, x1, a11);
            v = TFormat.Load8(r2, s2, p);
            a20 = Fma.MultiplyAdd(v, x0, a20);
            if (TRows.Count > 1) a21 = Fma.MultiplyAdd(v, x1, a21);
            v = TFormat.Load8(r3, s3, p);
            a30 = Fma.MultiplyAdd(v, x0, a30);
            if (TRows.Count > 1) a31 = Fma.MultiplyAdd(v, x1, a31);
        }
        var sums = stackalloc Vector128<float>[TRows.Count];
        sums[0] = Sum4(a00, a10, a20, a30);
        if (TRows.Count > 1) sums[1] = Sum4(a01, a11, a21, a31);
        for (int r = 0; r < TRows.Count; r++) Store(g, p, x + (long)r * k, k, y + (long)r * n, sums[r]);
    }

    /// <summary>[Σa, Σb, Σc, Σd] with two horizontal adds instead of four full reductions.</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static Vector128<float> Sum4(Vector512<float> a, Vector512<float> b, Vector512<float> c, Vector512<float> d) =>
        Sum4(a.GetLower() + a.GetUpper(), b.GetLower() + b.GetUpper(), c.GetLower() + c.GetUpper(), d.GetLower() + d.GetUpper());

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static Vector128<float> Sum4(Vector256<float> a, Vector256<float> b, Vector256<float> c, Vector256<float> d)
    {
        var sums = Avx.HorizontalAdd(Avx.HorizontalAdd(a, b), Avx.HorizontalAdd(c, d));
        return sums.GetLower() + sums.GetUpper();
    }

    /// <summary>
    /// Writes the group's sums for one row of x at y[group], after adding the columns from p on that no full
    /// vector covered (unblocked formats only: blocked rows are whole blocks).
    /// </summary>
    private static void Store<TFormat>(in RowGroup<TFormat> g, int p, float* x, int k, float* y, Vector128<float> sums)
        where TFormat : struct, IPackedFormat
    {
        if (p == k && g.Count == 4)
        {
            sums.Store(y + g.First);
            return;
        }
        for (int r = 0; r < g.Count; r++)
        {
            byte* row = r switch { 0 => g.Row0, 1 => g.Row1, 2 => g.Row2, _ => g.Row3 };
            float sum = sums.GetElement(r);
            for (int c = p; c < k; c++) sum += x[c] * TFormat.Scalar(row, c);
            y[g.First + r] = sum;
        }
    }

    private static void DecodeRows<TFormat>(int k, byte* w, float* scales, int j0, int j1, float* panel)
        where TFormat : struct, IPackedFormat
    {
        int blocks = k / PackedMatrix.BlockSize;
        for (int j = j0; j < j1; j++)
        {
            byte* row = w + TFormat.RowBytes(j, k);
            float* rowScales = scales + (long)j * blocks;
            float* output = panel + (long)(j - j0) * k;
            int p = 0;
            for (; p + 8 <= k; p += 8) Avx.Store(output + p, TFormat.Load8(row, rowScales, p));
            for (; p < k; p++) output[p] = TFormat.Scalar(row, p);
        }
    }

    private interface IRowCount { static abstract int Count { get; } }
    private struct One : IRowCount { public static int Count => 1; }
    private struct Two : IRowCount { public static int Count => 2; }
    private struct Three : IRowCount { public static int Count => 3; }
    private struct Four : IRowCount { public static int Count => 4; }

    /// <summary>How one packed type reads: a vector of weights of a row as float32, its block scale applied.</summary>
    private interface IPackedFormat
    {
        static abstract long RowBytes(int row, int k);
        /// <summary>Whether rows come in blocks of 32 with a float32 scale each (stored after all rows).</summary>
        static abstract bool Blocked { get; }
        /// <summary>
        /// Prefetches the part of a group's 4 rows that matches columns [p, p + 32) of one row (p a multiple of
        /// 32): bytes [p · 4 · bytes per weight, +128 · bytes per weight) of the group.
        /// </summary>
        static abstract void Prefetch32(byte* group, int p);
        /// <summary>Weights [p, p + 16) and [p + 16, p + 32) of a row (p a multiple of 32) with AVX-512F.</summary>
        static abstract void Load32(byte* row, float* rowScales, int p, out Vector512<float> low, out Vector512<float> high);
        /// <summary>Weights [p, p + 8) of a row (p a multiple of 8) with AVX2.</summary>
        static abstract Vector256<float> Load8(byte* row, float* rowScales, int p);
        /// <summary>One weight, for the columns after the last full vector (unblocked formats only).</summary>
        static abstract float Scalar(byte* row, int index);
    }

    private struct Half16 : IPackedFormat
    {
        public static bool Blocked => false;
        public static long RowBytes(int row, int k) => 2L * row * k;


        [MethodImpl(MethodImplOptions.AggressiveInlining)]
        public static void Prefetch32(byte* group, int p)
        {
            Sse.Prefetch1(group + 8L * p); Sse.Prefetch1(group + 8L * p + 64); Sse.Prefetch1(group + 8L * p + 128); Sse.Prefetch1(group + 8L * p + 192);
        }
        /// <summary>
        /// float16 to float32 without F16C (.NET exposes no conversion instruction), exactly and without subnormal
        /// float arithmetic (which costs a microcode assist per instruction): the
        /// sign-extended half shifted so its exponent and mantissa sit in a float32's and the exponent rebiased by
        /// an integer add; a subnormal half (exponent 0, zeros included) is instead its mantissa converted as an
        /// integer and scaled. The weights hold no infinities.
        /// </summary>
        [MethodImpl(MethodImplOptions.AggressiveInlining)]
        public static Vector256<float> Load8(byte* row, float* rowScales, int p)
        {
            var shifted = Avx2.ShiftLeftLogical(Avx2.ConvertToVector256Int32((short*)row + p), 13);
            var magnitude = shifted & Vector256.Create(0x0FFFE000);
            var normal = (magnitude + Vector256.Create(112 << 23)).AsSingle();
            var subnormal = Avx.ConvertToVector256Single(magnitude) * Vector256.Create(1f / (1L << 37));
            var value = Vector256.ConditionalSelect(Vector256.LessThan(magnitude, Vector256.Create(0x00800000)).AsSingle(), subnormal, normal);
            return value | (shifted & Vector256.Create(int.MinValue)).AsSingle();
        }

        [MethodImpl(MethodImplOptions.AggressiveInlining)]
        public static Vector512<float> Load16(byte* row, int p)
        {
            var shifted = Avx512F.ShiftLeftLogical(Avx512F.ConvertToVector512Int32(Vector256.Load((short*)row + p)), 13);
            var magnitude = shifted & Vector512.Create(0x0FFFE000);
            var normal = (magnitude + Vector512.Create(112 << 23)).AsSingle();
            // A subnormal's mantissa m, shifted by 13, is an exact integer: m · 2⁻²⁴ = (m · 2¹³) · 2⁻³⁷.
            var subnormal = Avx512F.ConvertToVector512Single(magnitude) * Vector512.Create(1f / (1L << 37));
            var value = Vector512.ConditionalSelect(Vector512.LessThan(magnitude, Vector512.Create(0x00800000)).AsSingle(), subnormal, normal);
            return value | (shifted & Vector512.Create(int.MinValue)).AsSingle();
        }

        [MethodImpl(MethodImplOptions.AggressiveInlining)]
        public static void Load32(byte* row, float* rowScales, int p, out Vector512<float> low, out Vector512<float> high)
        {
            low = Load16(row, p);
            high = Load16(row, p + 16);
        }

        public static float Scalar(byte* row, int index) => (float)((Half*)row)[index];
    }

    private struct Brain16 : IPackedFormat
    {
        public static bool Blocked => false;
        public static long RowBytes(int row, int k) => 2L * row * k;


        [MethodImpl(MethodImplOptions.AggressiveInlining)]
        public static void Prefetch32(byte* group, int p)
        {
            Sse.Prefetch1(group + 8L * p); Sse.Prefetch1(group + 8L * p + 64); Sse.Prefetch1(group + 8L * p + 128); Sse.Prefetch1(group + 8L * p + 192);
        }
        [MethodImpl(MethodImplOptions.AggressiveInlining)]
        public static Vector256<float> Load8(byte* row, float* rowScales, int p) =>
            Avx2.ShiftLeftLogical(Avx2.ConvertToVector256Int32((ushort*)row + p), 16).AsSingle();

        [MethodImpl(MethodImplOptions.AggressiveInlining)]
        public static Vector512<float> Load16(byte* row, int p) =>
            Avx512F.ShiftLeftLogical(Avx512F.ConvertToVector512Int32(Vector256.Load((ushort*)row + p)), 16).AsSingle();

        [MethodImpl(MethodImplOptions.AggressiveInlining)]
        public static void Load32(byte* row, float* rowScales, int p, out Vector512<float> low, out Vector512<float> high)
        {
            low = Load16(row, p);
            high = Load16(row, p + 16);
        }

        public static float Scalar(byte* row, int index) => BitConverter.Int32BitsToSingle(((ushort*)row)[index] << 16);
    }

    private struct Int8Blocks : IPackedFormat
    {
        public static bool Blocked => true;
        public static long RowBytes(int row, int k) => (long)row * k;


        [MethodImpl(MethodImplOptions.AggressiveInlining)]
        public static void Prefetch32(byte* group, int p)
        {
            Sse.Prefetch1(group + 4L * p); Sse.Prefetch1(group + 4L * p + 64);
        }
        [MethodImpl(MethodImplOptions.AggressiveInlining)]
        public static Vector256<float> Load8(byte* row, float* rowScales, int p) =>
            Avx.ConvertToVector256Single(Avx2.ConvertToVector256Int32((sbyte*)row + p)) * Vector256.Create(rowScales[p >> 5]);

        [MethodImpl(MethodImplOptions.AggressiveInlining)]
        public static void Load32(byte* row, float* rowScales, int p, out Vector512<float> low, out Vector512<float> high)
        {
            var scale = Vector512.Create(rowScales[p >> 5]);
            low = Avx512F.ConvertToVector512Single(Avx512F.ConvertToVector512Int32(Vector128.Load((sbyte*)row + p))) * scale;
            high = Avx512F.ConvertToVector512Single(Avx512F.ConvertToVector512Int32(Vector128.Load((sbyte*)row + p + 16))) * scale;
        }

        public static float Scalar(byte* row, int index) => throw new NotSupportedException("q8 rows are whole blocks");
    }

    private struct Int4Blocks : IPackedFormat
    {
        public static bool Blocked => true;
        public static long RowBytes(int row, int k) => (long)row * k / 2;


        [MethodImpl(MethodImplOptions.AggressiveInlining)]
        public static void Prefetch32(byte* group, int p) => Sse.Prefetch1(group + 2L * p);
        /// <summary>
        /// Columns 0–15 of a block are the low nibbles of its 16 bytes, columns 16–31 their high nibbles; 8
        /// columns come from bytes 0–7 or 8–15 of the block.
        /// </summary>
        [MethodImpl(MethodImplOptions.AggressiveInlining)]
        public static Vector256<float> Load8(byte* row, float* rowScales, int p)
        {
            var bytes = Avx2.ConvertToVector256Int32(row + (p >> 1 & ~15) + (p & 8));
            var nibbles = (p & 16) == 0 ? bytes & Vector256.Create(15) : Avx2.ShiftRightLogical(bytes, 4);
            return Avx.ConvertToVector256Single(nibbles - Vector256.Create(8)) * Vector256.Create(rowScales[p >> 5]);
        }

        /// <summary>
        /// The block's 16 scaled values q · d as a table that vpermps indexes by the low 4 bits of each lane, so
        /// the low nibbles need no mask and no integer-to-float conversion.
        /// </summary>
        [MethodImpl(MethodImplOptions.AggressiveInlining)]
        public static void Load32(byte* row, float* rowScales, int p, out Vector512<float> low, out Vector512<float> high)
        {
            var bytes = Avx512F.ConvertToVector512Int32(Vector128.Load(row + (p >> 1)));
            var table = Vector512.Create(-8f, -7f, -6f, -5f, -4f, -3f, -2f, -1f, 0f, 1f, 2f, 3f, 4f, 5f, 6f, 7f) * Vector512.Create(rowScales[p >> 5]);
            low = Avx512F.PermuteVar16x32(table, bytes);
            high = Avx512F.PermuteVar16x32(table, Avx512F.ShiftRightLogical(bytes, 4));
        }

        public static float Scalar(byte* row, int index) => throw new NotSupportedException("q4 rows are whole blocks");
    }
}
