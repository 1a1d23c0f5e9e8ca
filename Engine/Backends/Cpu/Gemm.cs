using System.Numerics;
using System.Runtime.CompilerServices;
using System.Runtime.InteropServices;

namespace MusicGen.Engine.Backends.Cpu;

/// <summary>
/// C[M, N] = A[M, K] · B[N, K]ᵀ with both operands read along contiguous rows, so every output is a dot product
/// of two contiguous vectors. Register tiles of 4×4 outputs load 8 vectors per 16 fused multiply-adds. The loop
/// order keeps the operand that is reused in cache: when B is large (the weights of a decoding step, M tiny),
/// B is streamed once and each 4-row block of it meets every row of A while it sits in L1.
/// </summary>
internal static class Gemm
{
    private const long CacheResidentBytes = 256 * 1024;

    public static void MultiplyTransposed(ReadOnlySpan<float> a, int lda, ReadOnlySpan<float> b, int ldb,
        Span<float> c, int ldc, int m, int n, int k)
    {
        if (m == 0 || n == 0) return;
        ref float a0 = ref MemoryMarshal.GetReference(a);
        ref float b0 = ref MemoryMarshal.GetReference(b);
        ref float c0 = ref MemoryMarshal.GetReference(c);
        if ((long)n * k * sizeof(float) <= CacheResidentBytes)
        {
            for (int i = 0; i < m; i += 4)
                for (int j = 0; j < n; j += 4)
                    Tile(ref a0, lda, ref b0, ldb, ref c0, ldc, i, j, Math.Min(4, m - i), Math.Min(4, n - j), k);
        }
        else
        {
            for (int j = 0; j < n; j += 4)
                for (int i = 0; i < m; i += 4)
                    Tile(ref a0, lda, ref b0, ldb, ref c0, ldc, i, j, Math.Min(4, m - i), Math.Min(4, n - j), k);
        }
    }

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static void Tile(ref float a, int lda, ref float b, int ldb, ref float c, int ldc, int i, int j, int rows, int cols, int k)
    {
        ref float ai = ref Unsafe.Add(ref a, (nint)i * lda);
        ref float bj = ref Unsafe.Add(ref b, (nint)j * ldb);
        ref float cij = ref Unsafe.Add(ref c, (nint)i * ldc + j);
        if (rows == 4 && cols == 4)
        {
            Kernel4x4(ref ai, lda, ref bj, ldb, ref cij, ldc, k);
            return;
        }
        for (int r = 0; r < rows; r++)
        {
            ref float ar = ref Unsafe.Add(ref ai, (nint)r * lda);
            ref float cr = ref Unsafe.Add(ref cij, (nint)r * ldc);
            if (cols == 4) Kernel1x4(ref ar, ref bj, ldb, ref cr, k);
            else
                for (int s = 0; s < cols; s++)
                    Unsafe.Add(ref cr, s) = Dot(ref ar, ref Unsafe.Add(ref bj, (nint)s * ldb), k);
        }
    }

    public static float Dot(ref float x, ref float y, int k)
    {
        int width = Vector<float>.Count;
        var acc0 = Vector<float>.Zero;
        var acc1 = Vector<float>.Zero;
        int p = 0;
        for (; p <= k - 2 * width; p += 2 * width)
        {
            acc0 = Vector.FusedMultiplyAdd(Vector.LoadUnsafe(ref x, (nuint)p), Vector.LoadUnsafe(ref y, (nuint)p), acc0);
            acc1 = Vector.FusedMultiplyAdd(Vector.LoadUnsafe(ref x, (nuint)(p + width)), Vector.LoadUnsafe(ref y, (nuint)(p + width)), acc1);
        }
        for (; p <= k - width; p += width)
            acc0 = Vector.FusedMultiplyAdd(Vector.LoadUnsafe(ref x, (nuint)p), Vector.LoadUnsafe(ref y, (nuint)p), acc0);
        float sum = Vector.Sum(acc0 + acc1);
        for (; p < k; p++) sum += Unsafe.Add(ref x, p) * Unsafe.Add(ref y, p);
        return sum;
    }

    private static void Kernel1x4(ref float a, ref float b, int ldb, ref float c, int k)
    {
        int width = Vector<float>.Count;
        ref float b1 = ref Unsafe.Add(ref b, ldb);
        ref float b2 = ref Unsafe.Add(ref b, 2 * (nint)ldb);
        ref float b3 = ref Unsafe.Add(ref b, 3 * (nint)ldb);
        Vector<float> c0 = default, c1 = default, c2 = default, c3 = default;
        int p = 0;
        for (; p <= k - width; p += width)
        {
            var av = Vector.LoadUnsafe(ref a, (nuint)p);
            c0 = Vector.FusedMultiplyAdd(av, Vector.LoadUnsafe(ref b, (nuint)p), c0);
            c1 = Vector.FusedMultiplyAdd(av, Vector.LoadUnsafe(ref b1, (nuint)p), c1);
            c2 = Vector.FusedMultiplyAdd(av, Vector.LoadUnsafe(ref b2, (nuint)p), c2);
            c3 = Vector.FusedMultiplyAdd(av, Vector.LoadUnsafe(ref b3, (nuint)p), c3);
        }
        Store4(ref c, ref a, ref b, ldb, p, k, c0, c1, c2, c3);
    }

    private static void Kernel4x4(ref float a, int lda, ref float b, int ldb, ref float c, int ldc, int k)
    {
        int width = Vector<float>.Count;
        ref float a1 = ref Unsafe.Add(ref a, lda);
        ref float a2 = ref Unsafe.Add(ref a, 2 * (nint)lda);
        ref float a3 = ref Unsafe.Add(ref a, 3 * (nint)lda);
        ref float b1 = ref Unsafe.Add(ref b, ldb);
        ref float b2 = ref Unsafe.Add(ref b, 2 * (nint)ldb);
        ref float b3 = ref Unsafe.Add(ref b, 3 * (nint)ldb);
        Vector<float> c00 = default, c01 = default, c02 = default, c03 = default;
        Vector<float> c10 = default, c11 = default, c12 = default, c13 = default;
        Vector<float> c20 = default, c21 = default, c22 = default, c23 = default;
        Vector<float> c30 = default, c31 = default, c32 = default, c33 = default;
        int p = 0;
        for (; p <= k - width; p += width)
        {
            var vb0 = Vector.LoadUnsafe(ref b, (nuint)p);
            var vb1 = Vector.LoadUnsafe(ref b1, (nuint)p);
            var vb2 = Vector.LoadUnsafe(ref b2, (nuint)p);
            var vb3 = Vector.LoadUnsafe(ref b3, (nuint)p);
            var va = Vector.LoadUnsafe(ref a, (nuint)p);
            c00 = Vector.FusedMultiplyAdd(va, vb0, c00);
            c01 = Vector.FusedMultiplyAdd(va, vb1, c01);
            c02 = Vector.FusedMultiplyAdd(va, vb2, c02);
            c03 = Vector.FusedMultiplyAdd(va, vb3, c03);
            va = Vector.LoadUnsafe(ref a1, (nuint)p);
            c10 = Vector.FusedMultiplyAdd(va, vb0, c10);
            c11 = Vector.FusedMultiplyAdd(va, vb1, c11);
            c12 = Vector.FusedMultiplyAdd(va, vb2, c12);
            c13 = Vector.FusedMultiplyAdd(va, vb3, c13);
            va = Vector.LoadUnsafe(ref a2, (nuint)p);
            c20 = Vector.FusedMultiplyAdd(va, vb0, c20);
            c21 = Vector.FusedMultiplyAdd(va, vb1, c21);
            c22 = Vector.FusedMultiplyAdd(va, vb2, c22);
            c23 = Vector.FusedMultiplyAdd(va, vb3, c23);
            va = Vector.LoadUnsafe(ref a3, (nuint)p);
            c30 = Vector.FusedMultiplyAdd(va, vb0, c30);
            c31 = Vector.FusedMultiplyAdd(va, vb1, c31);
            c32 = Vector.FusedMultiplyAdd(va, vb2, c32);
            c33 = Vector.FusedMultiplyAdd(va, vb3, c33);
        }
        Store4(ref c, ref a, ref b, ldb, p, k, c00, c01, c02, c03);
        Store4(ref Unsafe.Add(ref c, ldc), ref a1, ref b, ldb, p, k, c10, c11, c12, c13);
        Store4(ref Unsafe.Add(ref c, 2 * (nint)ldc), ref a2, ref b, ldb, p, k, c20, c21, c22, c23);
        Store4(ref Unsafe.Add(ref c, 3 * (nint)ldc), ref a3, ref b, ldb, p, k, c30, c31, c32, c33);
    }

    /// <summary>Reduces one row of a 4×4 tile, adds the scalar tail from column p on, and stores it.</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static void Store4(ref float c, ref float a, ref float b, int ldb, int p, int k,
        Vector<float> v0, Vector<float> v1, Vector<float> v2, Vector<float> v3)
    {
        float s0 = Vector.Sum(v0), s1 = Vector.Sum(v1), s2 = Vector.Sum(v2), s3 = Vector.Sum(v3);
        ref float b1 = ref Unsafe.Add(ref b, ldb);
        ref float b2 = ref Unsafe.Add(ref b, 2 * (nint)ldb);
        ref float b3 = ref Unsafe.Add(ref b, 3 * (nint)ldb);
        for (; p < k; p++)
        {
            float av = Unsafe.Add(ref a, p);
            s0 += av * Unsafe.Add(ref b, p);
            s1 += av * Unsafe.Add(ref b1, p);
            s2 += av * Unsafe.Add(ref b2, p);
            s3 += av * Unsafe.Add(ref b3, p);
        }
        c = s0;
        Unsafe.Add(ref c, 1) = s1;
        Unsafe.Add(ref c, 2) = s2;
        Unsafe.Add(ref c, 3) = s3;
    }
}
