using System.Runtime.CompilerServices;
using System.Runtime.Intrinsics;
using System.Runtime.Intrinsics.X86;
using MusicGen.Loaders.Checkpoints;

namespace MusicGen.Engine.Backends.Cpu;

/// <summary>
/// y[M, N] = x[M, K] · W[N, K]ᵀ for a packed weight matrix W (layouts in <see cref="PackedMatrix"/>), on AVX2 with
/// FMA. The skinny path (a decoding step's few rows) converts each group of 8 weights to float32 in registers and
/// multiplies it against up to 4 rows of x at once, so W is streamed from memory once; q8 and q4 sum each block
/// of 32 products before applying its scale. With AVX-512F the same runs on 16 weights per vector. Wide products instead decode a panel of weight rows to float32 and
/// reuse the float32 GEMM, which amortizes the decoding over every row of x.
/// </summary>
internal static unsafe class PackedGemm
{
    /// <summary>Up to this many rows of x the weights are decoded in registers, once per 4 rows of x.</summary>
    public const int SkinnyMaxRows = 16;

    /// <summary>Whether this CPU runs the vectorized kernels; otherwise every product goes through decoded panels.</summary>
    public static bool IsAccelerated => Avx2.IsSupported && Fma.IsSupported;

    /// <summary>y[i, j] = x[i, :] · W[j, :] for every row i &lt; m of x and rows j in [j0, j1) of W.</summary>
    public static void Skinny(WeightType type, float* x, int m, int k, byte* w, float* scales, float* y, int n, int j0, int j1)
    {
        switch (type)
        {
            case WeightType.F16: Rows<Half16>(x, m, k, w, scales, y, n, j0, j1); break;
            case WeightType.BF16: Rows<Brain16>(x, m, k, w, scales, y, n, j0, j1); break;
            case WeightType.Q8: Rows<Int8Blocks>(x, m, k, w, scales, y, n, j0, j1); break;
            case WeightType.Q4: Rows<Int4Blocks>(x, m, k, w, scales, y, n, j0, j1); break;
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

    private static void Rows<TFormat>(float* x, int m, int k, byte* w, float* scales, float* y, int n, int j0, int j1)
        where TFormat : struct, IPackedFormat
    {
        int blocks = k / PackedMatrix.BlockSize;
        for (int j = j0; j < j1; j++)
        {
            byte* row = w + TFormat.RowBytes(j, k);
            float* rowScales = scales + (long)j * blocks;
            int i = 0;
            if (Avx512F.IsSupported)
            {
                for (; i + 4 <= m; i += 4) Dot512<TFormat, Four>(x + (long)i * k, k, row, rowScales, y + (long)i * n + j, n);
                switch (m - i)
                {
                    case 3: Dot512<TFormat, Three>(x + (long)i * k, k, row, rowScales, y + (long)i * n + j, n); break;
                    case 2: Dot512<TFormat, Two>(x + (long)i * k, k, row, rowScales, y + (long)i * n + j, n); break;
                    case 1: Dot512<TFormat, One>(x + (long)i * k, k, row, rowScales, y + (long)i * n + j, n); break;
                }
                continue;
            }
            for (; i + 4 <= m; i += 4) Dot<TFormat, Four>(x + (long)i * k, k, row, rowScales, y + (long)i * n + j, n);
            switch (m - i)
            {
                case 3: Dot<TFormat, Three>(x + (long)i * k, k, row, rowScales, y + (long)i * n + j, n); break;
                case 2: Dot<TFormat, Two>(x + (long)i * k, k, row, rowScales, y + (long)i * n + j, n); break;
                case 1: Dot<TFormat, One>(x + (long)i * k, k, row, rowScales, y + (long)i * n + j, n); break;
            }
        }
    }

    /// <summary>y[r·n] = x[r, :] · row for the TRows rows of x starting at x.</summary>
    private static void Dot<TFormat, TRows>(float* x, int k, byte* row, float* scales, float* y, int n)
        where TFormat : struct, IPackedFormat where TRows : struct, IRowCount
    {
        Vector256<float> a0 = default, a1 = default, a2 = default, a3 = default;
        int p = 0;
        if (TFormat.Blocked)
        {
            for (int b = 0; p < k; b++, p += PackedMatrix.BlockSize)
            {
                Vector256<float> s0 = default, s1 = default, s2 = default, s3 = default;
                Step<TFormat, TRows>(x, k, row, p, 0, ref s0, ref s1, ref s2, ref s3);
                Step<TFormat, TRows>(x, k, row, p, 1, ref s0, ref s1, ref s2, ref s3);
                Step<TFormat, TRows>(x, k, row, p, 2, ref s0, ref s1, ref s2, ref s3);
                Step<TFormat, TRows>(x, k, row, p, 3, ref s0, ref s1, ref s2, ref s3);
                var d = Vector256.Create(scales[b]);
                a0 = Fma.MultiplyAdd(s0, d, a0);
                if (TRows.Count > 1) a1 = Fma.MultiplyAdd(s1, d, a1);
                if (TRows.Count > 2) a2 = Fma.MultiplyAdd(s2, d, a2);
                if (TRows.Count > 3) a3 = Fma.MultiplyAdd(s3, d, a3);
            }
        }
        else
        {
            for (; p + 8 <= k; p += 8) Step<TFormat, TRows>(x, k, row, p, 0, ref a0, ref a1, ref a2, ref a3);
        }
        Store(y, Vector256.Sum(a0), x, row, p, k);
        if (TRows.Count > 1) Store(y + n, Vector256.Sum(a1), x + k, row, p, k);
        if (TRows.Count > 2) Store(y + 2L * n, Vector256.Sum(a2), x + 2L * k, row, p, k);
        if (TRows.Count > 3) Store(y + 3L * n, Vector256.Sum(a3), x + 3L * k, row, p, k);

        static void Store(float* y, float sum, float* x, byte* row, int p, int k)
        {
            for (; p < k; p++) sum += x[p] * TFormat.Scalar(row, p);
            *y = sum;
        }
    }

    /// <summary>
    /// <see cref="Dot{TFormat, TRows}"/> with 512-bit vectors: 16 weights per conversion, half the instructions
    /// per weight (what matters when the cores, not the memory, are the bound).
    /// </summary>
    private static void Dot512<TFormat, TRows>(float* x, int k, byte* row, float* scales, float* y, int n)
        where TFormat : struct, IPackedFormat where TRows : struct, IRowCount
    {
        Vector512<float> a0 = default, a1 = default, a2 = default, a3 = default;
        int p = 0;
        if (TFormat.Blocked)
        {
            for (int b = 0; p < k; b++, p += PackedMatrix.BlockSize)
            {
                Vector512<float> s0 = default, s1 = default, s2 = default, s3 = default;
                Step512<TFormat, TRows>(x, k, row, p, 0, ref s0, ref s1, ref s2, ref s3);
                Step512<TFormat, TRows>(x, k, row, p, 1, ref s0, ref s1, ref s2, ref s3);
                var d = Vector512.Create(scales[b]);
                a0 = Avx512F.FusedMultiplyAdd(s0, d, a0);
                if (TRows.Count > 1) a1 = Avx512F.FusedMultiplyAdd(s1, d, a1);
                if (TRows.Count > 2) a2 = Avx512F.FusedMultiplyAdd(s2, d, a2);
                if (TRows.Count > 3) a3 = Avx512F.FusedMultiplyAdd(s3, d, a3);
            }
        }
        else
        {
            for (; p + 16 <= k; p += 16) Step512<TFormat, TRows>(x, k, row, p, 0, ref a0, ref a1, ref a2, ref a3);
        }
        Store(y, Vector512.Sum(a0), x, row, p, k);
        if (TRows.Count > 1) Store(y + n, Vector512.Sum(a1), x + k, row, p, k);
        if (TRows.Count > 2) Store(y + 2L * n, Vector512.Sum(a2), x + 2L * k, row, p, k);
        if (TRows.Count > 3) Store(y + 3L * n, Vector512.Sum(a3), x + 3L * k, row, p, k);

        static void Store(float* y, float sum, float* x, byte* row, int p, int k)
        {
            for (; p < k; p++) sum += x[p] * TFormat.Scalar(row, p);
            *y = sum;
        }
    }

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static void Step512<TFormat, TRows>(float* x, int k, byte* row, int p, int half,
        ref Vector512<float> s0, ref Vector512<float> s1, ref Vector512<float> s2, ref Vector512<float> s3)
        where TFormat : struct, IPackedFormat where TRows : struct, IRowCount
    {
        int e = p + 16 * half;
        var weights = TFormat.Load16(row, p, half);
        s0 = Avx512F.FusedMultiplyAdd(weights, Vector512.Load(x + e), s0);
        if (TRows.Count > 1) s1 = Avx512F.FusedMultiplyAdd(weights, Vector512.Load(x + k + e), s1);
        if (TRows.Count > 2) s2 = Avx512F.FusedMultiplyAdd(weights, Vector512.Load(x + 2L * k + e), s2);
        if (TRows.Count > 3) s3 = Avx512F.FusedMultiplyAdd(weights, Vector512.Load(x + 3L * k + e), s3);
    }

    /// <summary>Weights [p + 8·part, +8) against the same columns of each row of x.</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static void Step<TFormat, TRows>(float* x, int k, byte* row, int p, int part,
        ref Vector256<float> s0, ref Vector256<float> s1, ref Vector256<float> s2, ref Vector256<float> s3)
        where TFormat : struct, IPackedFormat where TRows : struct, IRowCount
    {
        int e = p + 8 * part;
        var weights = TFormat.Load(row, p, part);
        s0 = Fma.MultiplyAdd(weights, Avx.LoadVector256(x + e), s0);
        if (TRows.Count > 1) s1 = Fma.MultiplyAdd(weights, Avx.LoadVector256(x + k + e), s1);
        if (TRows.Count > 2) s2 = Fma.MultiplyAdd(weights, Avx.LoadVector256(x + 2L * k + e), s2);
        if (TRows.Count > 3) s3 = Fma.MultiplyAdd(weights, Avx.LoadVector256(x + 3L * k + e), s3);
    }

    private static void DecodeRows<TFormat>(int k, byte* w, float* scales, int j0, int j1, float* panel)
        where TFormat : struct, IPackedFormat
    {
        int blocks = k / PackedMatrix.BlockSize;
        for (int j = j0; j < j1; j++)
        {
            byte* row = w + TFormat.RowBytes(j, k);
            float* output = panel + (long)(j - j0) * k;
            int p = 0;
            if (TFormat.Blocked)
            {
                for (int b = 0; p < k; b++, p += PackedMatrix.BlockSize)
                {
                    var d = Vector256.Create(scales[(long)j * blocks + b]);
                    for (int part = 0; part < 4; part++) Avx.Store(output + p + 8 * part, TFormat.Load(row, p, part) * d);
                }
            }
            else
            {
                for (; p + 8 <= k; p += 8) Avx.Store(output + p, TFormat.Load(row, p, 0));
                for (; p < k; p++) output[p] = TFormat.Scalar(row, p);
            }
        }
    }

    private interface IRowCount { static abstract int Count { get; } }
    private struct One : IRowCount { public static int Count => 1; }
    private struct Two : IRowCount { public static int Count => 2; }
    private struct Three : IRowCount { public static int Count => 3; }
    private struct Four : IRowCount { public static int Count => 4; }

    /// <summary>How one packed type reads: 8 weights at a time as float32 (before the block scale).</summary>
    private interface IPackedFormat
    {
        /// <summary>Whether weights come in scaled blocks of 32 (then k is a multiple of 32).</summary>
        static abstract bool Blocked { get; }
        static abstract long RowBytes(int row, int k);
        /// <summary>Weights [p + 8·part, +8) of a row; p is a block start for blocked formats, else part is 0.</summary>
        static abstract Vector256<float> Load(byte* row, int p, int part);
        /// <summary>Weights [p + 16·half, +16) with 512-bit vectors (AVX-512F), as <see cref="Load"/>.</summary>
        static abstract Vector512<float> Load16(byte* row, int p, int half);
        /// <summary>One weight, for the columns after the last full vector (unblocked formats only).</summary>
        static abstract float Scalar(byte* row, int index);
    }

    private struct Half16 : IPackedFormat
    {
        public static bool Blocked => false;
        public static long RowBytes(int row, int k) => 2L * row * k;

        /// <summary>
        /// float16 to float32 without F16C, exactly and without subnormal float arithmetic (which costs a
        /// microcode assist per instruction on many CPUs): the sign-extended half shifted so its exponent and
        /// mantissa sit in a float32's, the exponent rebiased by an integer add; a subnormal half (exponent 0)
        /// gets the implicit one added and subtracted again as the float 2⁻¹⁴. The weights hold no infinities.
        /// </summary>
        [MethodImpl(MethodImplOptions.AggressiveInlining)]
        public static Vector256<float> Load(byte* row, int p, int part)
        {
            var shifted = Avx2.ShiftLeftLogical(Avx2.ConvertToVector256Int32((short*)row + p + 8 * part), 13);
            var magnitude = shifted & Vector256.Create(0x0FFFE000);
            var subnormal = Avx2.CompareGreaterThan(Vector256.Create(0x00800000), magnitude);
            var rebiased = magnitude + Vector256.Create(112 << 23) + (subnormal & Vector256.Create(1 << 23));
            var value = rebiased.AsSingle() - (subnormal & Vector256.Create(113 << 23)).AsSingle();
            return value | (shifted & Vector256.Create(int.MinValue)).AsSingle();
        }

        [MethodImpl(MethodImplOptions.AggressiveInlining)]
        public static Vector512<float> Load16(byte* row, int p, int half)
        {
            var shifted = Avx512F.ShiftLeftLogical(Avx512F.ConvertToVector512Int32(Vector256.Load((short*)row + p + 16 * half)), 13);
            var magnitude = shifted & Vector512.Create(0x0FFFE000);
            var subnormal = Vector512.GreaterThan(Vector512.Create(0x00800000), magnitude);
            var rebiased = magnitude + Vector512.Create(112 << 23) + (subnormal & Vector512.Create(1 << 23));
            var value = rebiased.AsSingle() - (subnormal & Vector512.Create(113 << 23)).AsSingle();
            return value | (shifted & Vector512.Create(int.MinValue)).AsSingle();
        }

        public static float Scalar(byte* row, int index) => (float)((Half*)row)[index];
    }

    private struct Brain16 : IPackedFormat
    {
        public static bool Blocked => false;
        public static long RowBytes(int row, int k) => 2L * row * k;

        [MethodImpl(MethodImplOptions.AggressiveInlining)]
        public static Vector256<float> Load(byte* row, int p, int part) =>
            Avx2.ShiftLeftLogical(Avx2.ConvertToVector256Int32((ushort*)row + p + 8 * part), 16).AsSingle();

        [MethodImpl(MethodImplOptions.AggressiveInlining)]
        public static Vector512<float> Load16(byte* row, int p, int half) =>
            Avx512F.ShiftLeftLogical(Avx512F.ConvertToVector512Int32(Vector256.Load((ushort*)row + p + 16 * half)), 16).AsSingle();

        public static float Scalar(byte* row, int index) => BitConverter.Int32BitsToSingle(((ushort*)row)[index] << 16);
    }

    private struct Int8Blocks : IPackedFormat
    {
        public static bool Blocked => true;
        public static long RowBytes(int row, int k) => (long)row * k;

        [MethodImpl(MethodImplOptions.AggressiveInlining)]
        public static Vector256<float> Load(byte* row, int p, int part) =>
            Avx.ConvertToVector256Single(Avx2.ConvertToVector256Int32((sbyte*)row + p + 8 * part));

        [MethodImpl(MethodImplOptions.AggressiveInlining)]
        public static Vector512<float> Load16(byte* row, int p, int half) =>
            Avx512F.ConvertToVector512Single(Avx512F.ConvertToVector512Int32(Vector128.Load((sbyte*)row + p + 16 * half)));

        public static float Scalar(byte* row, int index) => throw new NotSupportedException("q8 rows are whole blocks");
    }

    private struct Int4Blocks : IPackedFormat
    {
        public static bool Blocked => true;
        public static long RowBytes(int row, int k) => (long)row * k / 2;

        /// <summary>Parts 0, 1 are the low nibbles of the block's bytes 0–15; parts 2, 3 their high nibbles.</summary>
        [MethodImpl(MethodImplOptions.AggressiveInlining)]
        public static Vector256<float> Load(byte* row, int p, int part)
        {
            var bytes = Avx2.ConvertToVector256Int32(row + p / 2 + 8 * (part & 1));
            var nibbles = part < 2 ? bytes & Vector256.Create(15) : Avx2.ShiftRightLogical(bytes, 4);
            return Avx.ConvertToVector256Single(nibbles - Vector256.Create(8));
        }

        /// <summary>Half 0 is the low nibbles of the block's 16 bytes, half 1 their high nibbles.</summary>
        [MethodImpl(MethodImplOptions.AggressiveInlining)]
        public static Vector512<float> Load16(byte* row, int p, int half)
        {
            var bytes = Avx512F.ConvertToVector512Int32(Vector128.Load(row + p / 2));
            var nibbles = half == 0 ? bytes & Vector512.Create(15) : Avx512F.ShiftRightLogical(bytes, 4);
            return Avx512F.ConvertToVector512Single(nibbles - Vector512.Create(8));
        }

        public static float Scalar(byte* row, int index) => throw new NotSupportedException("q4 rows are whole blocks");
    }
}
