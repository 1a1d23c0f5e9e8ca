using System.Numerics;
using System.Runtime.CompilerServices;
using System.Runtime.InteropServices;
using System.Runtime.Intrinsics;

namespace MusicGen.Engine.Backends.Cpu;

/// <summary>
/// Supplies depth rows [firstRow, firstRow + rows) of the right-hand operand of <see cref="ConvolutionGemm"/> for one
/// panel of columns: row i starts at offsets[i] from the returned reference and holds
/// <see cref="ConvolutionGemm.PanelWidth"/> readable values (zero or ignored past the last valid column). A source
/// either packs the rows into the aligned panel buffer or points straight into its input when the rows are
/// contiguous there.
/// </summary>
internal interface IPanelSource
{
    ref float Rows(Span<float> panel, Span<int> offsets, int firstRow, int rows);
}

/// <summary>
/// The blocked matrix product behind the convolutions: C[M, W] = A[M, D] · B[D, W] for one panel of W =
/// <see cref="PanelWidth"/> output columns (time steps). A is a weight matrix read in place along its rows (no
/// re-layout); B comes from the input through an <see cref="IPanelSource"/> in blocks of <see cref="DepthBlock"/>
/// rows that stay in L1 while every row tile of A passes over them. The register tile is 6 rows × 4 vectors of 16
/// with AVX-512 (24 accumulators of the 32 registers; 10 loads per 24 fused multiply-adds), else 6 rows × 2 vectors
/// of <see cref="Vector{T}"/> (12 of 16 AVX2 registers). Rows past M repeat the last row and are never read back.
/// </summary>
internal static class ConvolutionGemm
{
    public const int RowTile = 6;

    /// <summary>Depth rows per packed block: 128 rows of a 64-column panel fill 32 KiB of the 48 KiB L1.</summary>
    public const int DepthBlock = 128;

    /// <summary>Which register tile runs: the AVX-512 one where the hardware has it.</summary>
    public static bool Wide { get; } = Vector512.IsHardwareAccelerated;

    /// <summary>Output columns per panel, the register tile's width.</summary>
    public static int PanelWidth { get; } = WidthOf(Wide);

    internal static int WidthOf(bool wide) => wide ? 4 * Vector512<float>.Count : 2 * Vector<float>.Count;

    /// <summary>M rounded up to whole row tiles: the row count of a product buffer.</summary>
    public static int PaddedRows(int rows) => (rows + RowTile - 1) / RowTile * RowTile;

    /// <summary>
    /// Rows of A per work item: all of them when the panels alone give every core several items, else a split into
    /// groups of whole row tiles so that they do (the 500-frame layers of the codec have only 8 panels).
    /// </summary>
    public static int RowGroup(int rows, int panels)
    {
        int wanted = 4 * CpuParallel.Workers;
        if (panels >= wanted) return rows;
        int groups = Math.Min((wanted + panels - 1) / panels, Math.Max(1, rows / (8 * RowTile)));
        return PaddedRows((rows + groups - 1) / groups);
    }

    /// <summary>
    /// product[r, w] = Σ_d a[r · lda + d] · B[d, w] for r &lt; rows, where the source supplies B; product holds
    /// <see cref="PaddedRows"/>(rows) rows of <see cref="PanelWidth"/>.
    /// </summary>
    public static void Multiply<TSource>(ref TSource source, ReadOnlySpan<float> a, int lda, int rows, int depth, Span<float> product)
        where TSource : struct, IPanelSource =>
        Multiply(ref source, a, lda, rows, depth, product, Wide);

    internal static void Multiply<TSource>(ref TSource source, ReadOnlySpan<float> a, int lda, int rows, int depth, Span<float> product, bool wide)
        where TSource : struct, IPanelSource
    {
        int width = WidthOf(wide);
        if (rows <= 0) return;
        if (product.Length < PaddedRows(rows) * width || a.Length < (long)(rows - 1) * lda + depth)
            throw new ArgumentException("product or weight span too short for the panel");
        if (depth == 0)
        {
            product[..(PaddedRows(rows) * width)].Clear();
            return;
        }
        var panel = AlignedPanel.Get(DepthBlock * width);
        Span<int> offsets = stackalloc int[DepthBlock];
        ref float a0 = ref MemoryMarshal.GetReference(a);
        ref int o0 = ref MemoryMarshal.GetReference(offsets);
        ref float c0 = ref MemoryMarshal.GetReference(product);
        for (int d0 = 0; d0 < depth; d0 += DepthBlock)
        {
            int block = Math.Min(DepthBlock, depth - d0);
            ref float b0 = ref source.Rows(panel[..(block * width)], offsets[..block], d0, block);
            for (int r0 = 0; r0 < rows; r0 += RowTile)
            {
                ref float ar = ref Unsafe.Add(ref a0, (nint)r0 * lda + d0);
                ref float cr = ref Unsafe.Add(ref c0, (nint)r0 * width);
                int tileRows = Math.Min(RowTile, rows - r0);
                if (wide && tileRows == 1) Tile1x64(ref ar, ref b0, ref o0, block, ref cr, d0 > 0); // a single output channel
                else if (wide) Tile6x64(ref ar, lda, tileRows, ref b0, ref o0, block, ref cr, d0 > 0);
                else Tile6x2V(ref ar, lda, tileRows, ref b0, ref o0, block, ref cr, d0 > 0);
            }
        }
    }

    /// <summary>Row r of a tile, or its last valid row for r ≥ rows (computed and discarded, never out of bounds).</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static ref float Row(ref float a, nint lda, int r, int rows) => ref Unsafe.Add(ref a, Math.Min(r, rows - 1) * lda);

    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    private static void Tile6x64(ref float a, nint lda, int rows, ref float b, ref int offsets, int depth, ref float c, bool accumulate)
    {
        const int w = 16;
        ref float a1 = ref Row(ref a, lda, 1, rows);
        ref float a2 = ref Row(ref a, lda, 2, rows);
        ref float a3 = ref Row(ref a, lda, 3, rows);
        ref float a4 = ref Row(ref a, lda, 4, rows);
        ref float a5 = ref Row(ref a, lda, 5, rows);
        Vector512<float> c00, c01, c02, c03, c10, c11, c12, c13, c20, c21, c22, c23;
        Vector512<float> c30, c31, c32, c33, c40, c41, c42, c43, c50, c51, c52, c53;
        if (accumulate)
        {
            c00 = Vector512.LoadUnsafe(ref c, 0 * w); c01 = Vector512.LoadUnsafe(ref c, 1 * w); c02 = Vector512.LoadUnsafe(ref c, 2 * w); c03 = Vector512.LoadUnsafe(ref c, 3 * w);
            c10 = Vector512.LoadUnsafe(ref c, 4 * w); c11 = Vector512.LoadUnsafe(ref c, 5 * w); c12 = Vector512.LoadUnsafe(ref c, 6 * w); c13 = Vector512.LoadUnsafe(ref c, 7 * w);
            c20 = Vector512.LoadUnsafe(ref c, 8 * w); c21 = Vector512.LoadUnsafe(ref c, 9 * w); c22 = Vector512.LoadUnsafe(ref c, 10 * w); c23 = Vector512.LoadUnsafe(ref c, 11 * w);
            c30 = Vector512.LoadUnsafe(ref c, 12 * w); c31 = Vector512.LoadUnsafe(ref c, 13 * w); c32 = Vector512.LoadUnsafe(ref c, 14 * w); c33 = Vector512.LoadUnsafe(ref c, 15 * w);
            c40 = Vector512.LoadUnsafe(ref c, 16 * w); c41 = Vector512.LoadUnsafe(ref c, 17 * w); c42 = Vector512.LoadUnsafe(ref c, 18 * w); c43 = Vector512.LoadUnsafe(ref c, 19 * w);
            c50 = Vector512.LoadUnsafe(ref c, 20 * w); c51 = Vector512.LoadUnsafe(ref c, 21 * w); c52 = Vector512.LoadUnsafe(ref c, 22 * w); c53 = Vector512.LoadUnsafe(ref c, 23 * w);
        }
        else
        {
            c00 = c01 = c02 = c03 = c10 = c11 = c12 = c13 = c20 = c21 = c22 = c23 = Vector512<float>.Zero;
            c30 = c31 = c32 = c33 = c40 = c41 = c42 = c43 = c50 = c51 = c52 = c53 = Vector512<float>.Zero;
        }
        for (nint d = 0; d < depth; d++)
        {
            ref float bd = ref Unsafe.Add(ref b, Unsafe.Add(ref offsets, d));
            var b0 = Vector512.LoadUnsafe(ref bd, 0);
            var b1 = Vector512.LoadUnsafe(ref bd, w);
            var b2 = Vector512.LoadUnsafe(ref bd, 2 * w);
            var b3 = Vector512.LoadUnsafe(ref bd, 3 * w);
            var v = Vector512.Create(Unsafe.Add(ref a, d));
            c00 = Vector512.FusedMultiplyAdd(v, b0, c00); c01 = Vector512.FusedMultiplyAdd(v, b1, c01); c02 = Vector512.FusedMultiplyAdd(v, b2, c02); c03 = Vector512.FusedMultiplyAdd(v, b3, c03);
            v = Vector512.Create(Unsafe.Add(ref a1, d));
            c10 = Vector512.FusedMultiplyAdd(v, b0, c10); c11 = Vector512.FusedMultiplyAdd(v, b1, c11); c12 = Vector512.FusedMultiplyAdd(v, b2, c12); c13 = Vector512.FusedMultiplyAdd(v, b3, c13);
            v = Vector512.Create(Unsafe.Add(ref a2, d));
            c20 = Vector512.FusedMultiplyAdd(v, b0, c20); c21 = Vector512.FusedMultiplyAdd(v, b1, c21); c22 = Vector512.FusedMultiplyAdd(v, b2, c22); c23 = Vector512.FusedMultiplyAdd(v, b3, c23);
            v = Vector512.Create(Unsafe.Add(ref a3, d));
            c30 = Vector512.FusedMultiplyAdd(v, b0, c30); c31 = Vector512.FusedMultiplyAdd(v, b1, c31); c32 = Vector512.FusedMultiplyAdd(v, b2, c32); c33 = Vector512.FusedMultiplyAdd(v, b3, c33);
            v = Vector512.Create(Unsafe.Add(ref a4, d));
            c40 = Vector512.FusedMultiplyAdd(v, b0, c40); c41 = Vector512.FusedMultiplyAdd(v, b1, c41); c42 = Vector512.FusedMultiplyAdd(v, b2, c42); c43 = Vector512.FusedMultiplyAdd(v, b3, c43);
            v = Vector512.Create(Unsafe.Add(ref a5, d));
            c50 = Vector512.FusedMultiplyAdd(v, b0, c50); c51 = Vector512.FusedMultiplyAdd(v, b1, c51); c52 = Vector512.FusedMultiplyAdd(v, b2, c52); c53 = Vector512.FusedMultiplyAdd(v, b3, c53);
        }
        c00.StoreUnsafe(ref c, 0 * w); c01.StoreUnsafe(ref c, 1 * w); c02.StoreUnsafe(ref c, 2 * w); c03.StoreUnsafe(ref c, 3 * w);
        c10.StoreUnsafe(ref c, 4 * w); c11.StoreUnsafe(ref c, 5 * w); c12.StoreUnsafe(ref c, 6 * w); c13.StoreUnsafe(ref c, 7 * w);
        c20.StoreUnsafe(ref c, 8 * w); c21.StoreUnsafe(ref c, 9 * w); c22.StoreUnsafe(ref c, 10 * w); c23.StoreUnsafe(ref c, 11 * w);
        c30.StoreUnsafe(ref c, 12 * w); c31.StoreUnsafe(ref c, 13 * w); c32.StoreUnsafe(ref c, 14 * w); c33.StoreUnsafe(ref c, 15 * w);
        c40.StoreUnsafe(ref c, 16 * w); c41.StoreUnsafe(ref c, 17 * w); c42.StoreUnsafe(ref c, 18 * w); c43.StoreUnsafe(ref c, 19 * w);
        c50.StoreUnsafe(ref c, 20 * w); c51.StoreUnsafe(ref c, 21 * w); c52.StoreUnsafe(ref c, 22 * w); c53.StoreUnsafe(ref c, 23 * w);
    }

    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    private static void Tile1x64(ref float a, ref float b, ref int offsets, int depth, ref float c, bool accumulate)
    {
        const int w = 16;
        Vector512<float> c0 = Vector512<float>.Zero, c1 = c0, c2 = c0, c3 = c0;
        if (accumulate)
        {
            c0 = Vector512.LoadUnsafe(ref c, 0); c1 = Vector512.LoadUnsafe(ref c, w); c2 = Vector512.LoadUnsafe(ref c, 2 * w); c3 = Vector512.LoadUnsafe(ref c, 3 * w);
        }
        for (nint d = 0; d < depth; d++)
        {
            ref float bd = ref Unsafe.Add(ref b, Unsafe.Add(ref offsets, d));
            var v = Vector512.Create(Unsafe.Add(ref a, d));
            c0 = Vector512.FusedMultiplyAdd(v, Vector512.LoadUnsafe(ref bd, 0), c0);
            c1 = Vector512.FusedMultiplyAdd(v, Vector512.LoadUnsafe(ref bd, w), c1);
            c2 = Vector512.FusedMultiplyAdd(v, Vector512.LoadUnsafe(ref bd, 2 * w), c2);
            c3 = Vector512.FusedMultiplyAdd(v, Vector512.LoadUnsafe(ref bd, 3 * w), c3);
        }
        c0.StoreUnsafe(ref c, 0); c1.StoreUnsafe(ref c, w); c2.StoreUnsafe(ref c, 2 * w); c3.StoreUnsafe(ref c, 3 * w);
    }

    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    private static void Tile6x2V(ref float a, nint lda, int rows, ref float b, ref int offsets, int depth, ref float c, bool accumulate)
    {
        int w = Vector<float>.Count;
        ref float a1 = ref Row(ref a, lda, 1, rows);
        ref float a2 = ref Row(ref a, lda, 2, rows);
        ref float a3 = ref Row(ref a, lda, 3, rows);
        ref float a4 = ref Row(ref a, lda, 4, rows);
        ref float a5 = ref Row(ref a, lda, 5, rows);
        Vector<float> c00, c01, c10, c11, c20, c21, c30, c31, c40, c41, c50, c51;
        if (accumulate)
        {
            c00 = Vector.LoadUnsafe(ref c, 0); c01 = Vector.LoadUnsafe(ref c, (nuint)w);
            c10 = Vector.LoadUnsafe(ref c, (nuint)(2 * w)); c11 = Vector.LoadUnsafe(ref c, (nuint)(3 * w));
            c20 = Vector.LoadUnsafe(ref c, (nuint)(4 * w)); c21 = Vector.LoadUnsafe(ref c, (nuint)(5 * w));
            c30 = Vector.LoadUnsafe(ref c, (nuint)(6 * w)); c31 = Vector.LoadUnsafe(ref c, (nuint)(7 * w));
            c40 = Vector.LoadUnsafe(ref c, (nuint)(8 * w)); c41 = Vector.LoadUnsafe(ref c, (nuint)(9 * w));
            c50 = Vector.LoadUnsafe(ref c, (nuint)(10 * w)); c51 = Vector.LoadUnsafe(ref c, (nuint)(11 * w));
        }
        else
        {
            c00 = c01 = c10 = c11 = c20 = c21 = c30 = c31 = c40 = c41 = c50 = c51 = Vector<float>.Zero;
        }
        for (nint d = 0; d < depth; d++)
        {
            ref float bd = ref Unsafe.Add(ref b, Unsafe.Add(ref offsets, d));
            var b0 = Vector.LoadUnsafe(ref bd);
            var b1 = Vector.LoadUnsafe(ref bd, (nuint)w);
            var v = new Vector<float>(Unsafe.Add(ref a, d));
            c00 = Vector.FusedMultiplyAdd(v, b0, c00); c01 = Vector.FusedMultiplyAdd(v, b1, c01);
            v = new Vector<float>(Unsafe.Add(ref a1, d));
            c10 = Vector.FusedMultiplyAdd(v, b0, c10); c11 = Vector.FusedMultiplyAdd(v, b1, c11);
            v = new Vector<float>(Unsafe.Add(ref a2, d));
            c20 = Vector.FusedMultiplyAdd(v, b0, c20); c21 = Vector.FusedMultiplyAdd(v, b1, c21);
            v = new Vector<float>(Unsafe.Add(ref a3, d));
            c30 = Vector.FusedMultiplyAdd(v, b0, c30); c31 = Vector.FusedMultiplyAdd(v, b1, c31);
            v = new Vector<float>(Unsafe.Add(ref a4, d));
            c40 = Vector.FusedMultiplyAdd(v, b0, c40); c41 = Vector.FusedMultiplyAdd(v, b1, c41);
            v = new Vector<float>(Unsafe.Add(ref a5, d));
            c50 = Vector.FusedMultiplyAdd(v, b0, c50); c51 = Vector.FusedMultiplyAdd(v, b1, c51);
        }
        c00.StoreUnsafe(ref c, 0); c01.StoreUnsafe(ref c, (nuint)w);
        c10.StoreUnsafe(ref c, (nuint)(2 * w)); c11.StoreUnsafe(ref c, (nuint)(3 * w));
        c20.StoreUnsafe(ref c, (nuint)(4 * w)); c21.StoreUnsafe(ref c, (nuint)(5 * w));
        c30.StoreUnsafe(ref c, (nuint)(6 * w)); c31.StoreUnsafe(ref c, (nuint)(7 * w));
        c40.StoreUnsafe(ref c, (nuint)(8 * w)); c41.StoreUnsafe(ref c, (nuint)(9 * w));
        c50.StoreUnsafe(ref c, (nuint)(10 * w)); c51.StoreUnsafe(ref c, (nuint)(11 * w));
    }
}

/// <summary>
/// One packed-panel buffer per thread, aligned to the 64-byte cache line so that no vector load of the inner loop
/// straddles two lines (managed arrays are only 8-byte aligned). Pinned, so the alignment holds.
/// </summary>
internal static class AlignedPanel
{
    [ThreadStatic] private static float[]? _buffer;
    [ThreadStatic] private static int _start;

    public static unsafe Span<float> Get(int length)
    {
        if (_buffer is null || _buffer.Length - _start < length)
        {
            _buffer = GC.AllocateUninitializedArray<float>(length + 16, pinned: true);
            _start = (int)((64 - (nint)Unsafe.AsPointer(ref _buffer[0]) % 64) % 64 / sizeof(float));
        }
        return _buffer.AsSpan(_start, length);
    }
}
