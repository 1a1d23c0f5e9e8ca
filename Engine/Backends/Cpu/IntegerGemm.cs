using MusicGen.Loaders;
using System.Runtime.CompilerServices;
using System.Runtime.Intrinsics;
using System.Runtime.Intrinsics.X86;
using MusicGen.Loaders.Checkpoints;

namespace MusicGen.Engine.Backends.Cpu;

/// <summary>
/// y[M, N] = x[M, K] · W[N, K]ᵀ for q8 and q4 weights with 8-bit integer dot products: AVX-VNNI's vpdpbusd
/// multiplies 32 unsigned bytes by 32 signed bytes and adds each 4 adjacent products into one of 8 int32 lanes.
/// A product first quantizes x, every block of 32 inputs of a row to int8 with a float32 scale as q8 weights are
/// (<see cref="QuantizeRow"/>), once for all output rows; each block's integer sum is then scaled by the weight
/// block's scale times x's and added in float32.
/// <para>
/// The weights are laid out once at load in row groups (<see cref="Interleave"/>): the lanes of a vector are weight
/// rows, 4 bytes each, so one vpdpbusd takes 4 inputs of x broadcast to every lane and leaves 8 outputs' partial
/// sums in their own lanes; no horizontal sums are needed, and each group is one sequential stream of bytes. A group
/// holds <see cref="GroupRowsOf"/> rows (the last one padded with zero rows), block after block; per block of 32
/// inputs a unit holds the rows' values, then their float32 scales:
/// </para>
/// <list type="bullet">
/// <item>q8 (8 rows, 288 bytes a unit): 8 vectors of 32 bytes; vector t holds inputs 4t … 4t + 3 of the 8 rows
///   (row r in bytes 4r … 4r + 3), each as q + 128, an unsigned byte.</item>
/// <item>q4 (16 rows, 320 bytes a unit): 4 vectors of 64 bytes; vector t holds bytes 4t … 4t + 3 of each row's
///   16-byte block as <see cref="PackedMatrix"/> stores them: inputs 4t … 4t + 3 in the low nibbles, 16 + 4t … in
///   the high ones, each q + 8. A 64-byte vector is two 32-byte ones for rows 0–7 and 8–15, so the 256-bit kernels
///   take a q4 group as two groups of 8 rows.</item>
/// </list>
/// Since the weights are stored as u = q + offset, Σ u·x = Σ q·x + offset · Σ x: each block's accumulator starts at
/// −offset · Σ x, which the quantization of x computes once per block.
/// <para>
/// Where AVX-512BW is there, q4 is multiplied 16 rows per instruction instead (<see cref="WideGroups"/>): vpmaddubsw
/// multiplies 64 unsigned nibbles by 64 signed bytes and adds pairs into int16. Over a block each int16 sums 16
/// products of at most 15 · 128 in magnitude (x's −128 only where a NaN rounds), 30,720 &lt; 2¹⁵, so the block is summed
/// exactly in int16 and one vpmaddwd per block widens it: about half the instructions of the 256-bit dot products per
/// weight byte, since .NET has no 512-bit vpdpbusd. q8's products would overflow int16, so q8 keeps vpdpbusd.
/// </para>
/// </summary>
internal static unsafe class IntegerGemm
{
    /// <summary>Weight rows per vector lane set of the 256-bit kernels.</summary>
    private const int HalfRows = 8;

    /// <summary>Weight rows of a row group: q8 8, q4 16 (<see cref="IntegerGemm"/>).</summary>
    public static int GroupRowsOf(WeightType type) => type switch
    {
        WeightType.Q8 => Int8Units.GroupRows,
        WeightType.Q4 => Int4Units.GroupRows,
        _ => throw new ArgumentOutOfRangeException(nameof(type), $"{type.Name()} has no integer layout"),
    };

    /// <summary>Rows of x whose partial sums are kept per pass over a group's weights (a pass's work area on the stack).</summary>
    private const int TileRows = 64;

    private const int Block = PackedMatrix.BlockSize;

    /// <summary>Whether this CPU has the 8-bit dot products (and the AVX2 and FMA the rest of the kernels use).</summary>
    public static bool IsSupported => AvxVnni.IsSupported && Avx2.IsSupported && Fma.IsSupported;

    /// <summary>Whether q4 is multiplied with 512-bit vectors (<see cref="WideGroups"/>).</summary>
    public static bool IsWideSupported => IsSupported && Avx512BW.IsSupported;

    private static int UnitBytes(WeightType type) => type switch
    {
        WeightType.Q8 => Int8Units.UnitBytes,
        WeightType.Q4 => Int4Units.UnitBytes,
        _ => throw new ArgumentOutOfRangeException(nameof(type), $"{type.Name()} has no integer layout"),
    };

    /// <summary>Bytes of a [rows, columns] matrix in row groups.</summary>
    public static long ByteCount(WeightType type, int rows, int columns) =>
        (long)(rows + GroupRowsOf(type) - 1) / GroupRowsOf(type) * (columns / Block) * UnitBytes(type);

    /// <summary>Where the row groups start in the array that holds them: the kernels read every unit from a cache-line boundary.</summary>
    public const int Alignment = 64;

    /// <summary>
    /// A q8 or q4 matrix in row groups, in pinned memory from <paramref name="arena"/> (or a new pinned array), from
    /// an <see cref="Alignment"/>-byte boundary on: the units' vector loads then fall at the same place in every cache
    /// line, which the kernels' speed depends on, so the matrix's own array (at any address, and movable) is not reused.
    /// </summary>
    public static PinnedBytes Interleave(PackedMatrix matrix, PinnedArena? arena = null)
    {
        int bytes = checked((int)ByteCount(matrix.Type, matrix.Rows, matrix.Columns));
        var groups = (arena ?? new PinnedArena()).Take(bytes, Alignment);
        fixed (byte* start = groups.Array) InterleaveInto(matrix, start + groups.Offset);
        return groups;
    }

    /// <summary>The groups one after the other from <paramref name="output"/>, each from its rows' values and scales in the matrix.</summary>
    /// <remarks>Split over the cores: writing the groups is mostly mapping their memory in, which goes faster from both.</remarks>
    private static void InterleaveInto(PackedMatrix matrix, byte* output)
    {
        int groupRows = GroupRowsOf(matrix.Type);
        CpuParallel.For((matrix.Rows + groupRows - 1) / groupRows, (long)groupRows * matrix.Columns, (matrix, output: (nint)output), static (in s, start, end) =>
        {
            var matrix = s.matrix;
            int rows = matrix.Rows, columns = matrix.Columns, blocks = columns / Block, groupRows = GroupRowsOf(matrix.Type);
            int rowBytes = (int)(matrix.ScaleOffset / rows), unitBytes = UnitBytes(matrix.Type);
            fixed (byte* source = matrix.Data)
                for (int g = start; g < end; g++)
                {
                    int real = Math.Min(groupRows, rows - g * groupRows);
                    var groupScales = (float*)(source + matrix.ScaleOffset) + (long)g * groupRows * blocks;
                    byte* values = source + (long)g * groupRows * rowBytes, units = (byte*)s.output + (long)g * blocks * unitBytes;
                    if (matrix.Type == WeightType.Q8) InterleaveGroup<Int8Units>(values, groupScales, real, columns, units);
                    else InterleaveGroup<Int4Units>(values, groupScales, real, columns, units);
                }
        });
    }

    /// <summary>
    /// One group, block by block: each 16 bytes of 8 rows' blocks become 4 vectors of 32 bytes by a 4 × 4 transpose
    /// of 4-byte words within each 128-bit half (rows 0–3 in the low half, 4–7 in the high one); q4's rows 8–15 fill
    /// the upper 32 bytes of its 64-byte vectors. The group's rows follow one another from values, their scales from
    /// scales; rows from real on are padding, read as 16 bytes of q = 0.
    /// </summary>
    // Fully optimized from the first call: each matrix of a model calls it once per group.
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    private static void InterleaveGroup<TFormat>(byte* values, float* scales, int real, int columns, byte* unit)
        where TFormat : struct, IUnitFormat
    {
        int blocks = columns / Block, blockBytes = TFormat.SourceBlockBytes, stride = TFormat.VectorBytes;
        long rowBytes = (long)blocks * blockBytes;
        var zeros = stackalloc uint[4] { TFormat.ZeroWord, TFormat.ZeroWord, TFormat.ZeroWord, TFormat.ZeroWord };
        var flip = Vector256.Create(TFormat.StoredFlip).AsSingle();
        for (int b = 0; b < blocks; b++, unit += TFormat.UnitBytes)
        {
            for (int first = 0; first < TFormat.GroupRows; first += HalfRows)
                for (int half = 0; half < blockBytes / 16; half++)
                {
                    Vector128<float> Part(int r) => Vector128.Load(first + r < real ? (float*)(values + (first + r) * rowBytes + (long)b * blockBytes + 16 * half) : (float*)zeros);
                    Vector256<float> Rows(int r) => Vector256.Create(Part(r), Part(r + 4));
                    var t0 = Avx.UnpackLow(Rows(0), Rows(1));
                    var t1 = Avx.UnpackHigh(Rows(0), Rows(1));
                    var t2 = Avx.UnpackLow(Rows(2), Rows(3));
                    var t3 = Avx.UnpackHigh(Rows(2), Rows(3));
                    byte* output = unit + 4 * first + 4 * half * stride;
                    (Avx.Shuffle(t0, t2, 0x44) ^ flip).Store((float*)output);
                    (Avx.Shuffle(t0, t2, 0xEE) ^ flip).Store((float*)(output + stride));
                    (Avx.Shuffle(t1, t3, 0x44) ^ flip).Store((float*)(output + 2 * stride));
                    (Avx.Shuffle(t1, t3, 0xEE) ^ flip).Store((float*)(output + 3 * stride));
                }
            for (int r = 0; r < TFormat.GroupRows; r++)
                ((float*)(unit + TFormat.ValueBytes))[r] = r < real ? scales[(long)r * blocks + b] : 0f;
        }
    }

    /// <summary>Rows [j0, j1) of a matrix in row groups (from <see cref="Interleave"/>), in float32, into panel [j1 − j0, columns]: the exact weights, for products that need them.</summary>
    public static void Decode(WeightType type, PinnedBytes groups, int columns, int j0, int j1, float* panel)
    {
        fixed (byte* start = groups.Array) Decode(type, start + groups.Offset, columns, j0, j1, panel);
    }

    private static void Decode(WeightType type, byte* groups, int columns, int j0, int j1, float* panel)
    {
        int blocks = columns / Block, unitBytes = UnitBytes(type), groupRows = GroupRowsOf(type), stride = 4 * groupRows;
        for (int j = j0; j < j1; j++)
        {
            int r = j % groupRows;
            byte* unit = groups + (long)(j / groupRows) * blocks * unitBytes;
            float* output = panel + (long)(j - j0) * columns;
            for (int b = 0; b < blocks; b++, unit += unitBytes)
            {
                float scale = ((float*)(unit + unitBytes - 4 * groupRows))[r];
                for (int i = 0; i < Block; i++)
                {
                    int q = type == WeightType.Q8
                        ? unit[stride * (i / 4) + 4 * r + i % 4] - 128
                        : (unit[stride * (i % 16 / 4) + 4 * r + i % 4] >> (i < 16 ? 0 : 4) & 15) - 8;
                    output[b * Block + i] = scale * q;
                }
            }
        }
    }

    /// <summary>Floats of work memory x [m, k] quantized takes: per block and row 32 bytes, a scale and a start.</summary>
    public static int QuantizedFloats(int m, int k) => checked(k / Block * m * (Block / 4 + 2));

    /// <summary>
    /// Quantizes row i of x [m, k], whose k values are at <paramref name="row"/>, into <paramref name="memory"/>
    /// (<see cref="QuantizedFloats"/> long) for products with <paramref name="type"/> weights:
    /// per block of 32, d = max|x| / 127 and q = round(x · 127 / max|x|) to nearest even. A NaN or infinity in a
    /// block makes its scale non-finite, so the outputs it reaches are not finite either.
    /// </summary>
    // Fully optimized from the first call: every product of a generation's first steps calls it.
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    public static void QuantizeRow(WeightType type, float* row, int i, int m, int k, float* memory)
    {
        var input = new QuantizedInput(memory, m, k);
        int offset = type == WeightType.Q8 ? Int8Units.Offset : Int4Units.Offset;
        var magnitude = Vector256.Create(int.MaxValue);
        for (int b = 0; b < input.Blocks; b++)
        {
            float* v = row + (long)b * Block;
            var x0 = Vector256.Load(v); var x1 = Vector256.Load(v + 8); var x2 = Vector256.Load(v + 16); var x3 = Vector256.Load(v + 24);
            // |x| compared as integers: ordered as the floats, and a NaN's bits are above every other value's.
            var largest = Avx2.Max(Avx2.Max(x0.AsInt32() & magnitude, x1.AsInt32() & magnitude), Avx2.Max(x2.AsInt32() & magnitude, x3.AsInt32() & magnitude));
            var half = Sse41.Max(largest.GetLower(), largest.GetUpper());
            half = Sse41.Max(half, Sse2.Shuffle(half, 0b_01_00_11_10));
            half = Sse41.Max(half, Sse2.Shuffle(half, 0b_10_11_00_01));
            float max = BitConverter.Int32BitsToSingle(half.ToScalar());
            var inverse = Vector256.Create(max == 0 ? 0 : 127f / max);
            var q0 = Avx.ConvertToVector256Int32(x0 * inverse); var q1 = Avx.ConvertToVector256Int32(x1 * inverse);
            var q2 = Avx.ConvertToVector256Int32(x2 * inverse); var q3 = Avx.ConvertToVector256Int32(x3 * inverse);
            var sum = q0 + q1 + (q2 + q3);
            var sums = sum.GetLower() + sum.GetUpper();
            sums += Sse2.Shuffle(sums, 0b_01_00_11_10);
            sums += Sse2.Shuffle(sums, 0b_10_11_00_01);
            // Packing works within 128-bit halves: the bytes come out as 4-byte groups in the order 0, 2, 4, 6, 1, 3, 5, 7.
            var bytes = Avx2.PackSignedSaturate(Avx2.PackSignedSaturate(q0, q1), Avx2.PackSignedSaturate(q2, q3));
            Avx2.PermuteVar8x32(bytes.AsInt32(), Vector256.Create(0, 4, 1, 5, 2, 6, 3, 7)).Store((int*)input.Values(b, i));
            input.Scales[b * m + i] = max / 127f;
            input.Starts[b * m + i] = -offset * sums.ToScalar();
        }
    }

    /// <summary>
    /// y[i, j] = x[i, :] · W[j, :] for every row i of x (quantized into <paramref name="memory"/>) and the rows j
    /// of row groups [g0, g1) of W (from <see cref="Interleave"/>; the rows below n).
    /// </summary>
    public static void Multiply(WeightType type, PinnedBytes groups, int k, float* memory, int m, float* y, int n, int g0, int g1) =>
        Multiply(type, groups, k, memory, m, y, n, g0, g1, IsWideSupported);

    /// <summary><see cref="Multiply(WeightType, PinnedBytes, int, float*, int, float*, int, int, int)"/> with q4's 512-bit kernels or the 256-bit ones.</summary>
    public static void Multiply(WeightType type, PinnedBytes groups, int k, float* memory, int m, float* y, int n, int g0, int g1, bool wide)
    {
        var input = new QuantizedInput(memory, m, k);
        fixed (byte* array = groups.Array)
        {
            byte* start = array + groups.Offset;
            switch (type)
            {
                case WeightType.Q8: Groups<Int8Units>(start, input, y, n, g0, g1); break;
                case WeightType.Q4 when wide: WideGroups(start, input, y, n, g0, g1); break;
                case WeightType.Q4: Groups<Int4Units>(start, input, y, n, g0, g1); break;
                default: throw new ArgumentOutOfRangeException(nameof(type), $"{type.Name()} has no integer layout");
            }
        }
    }

    /// <summary>
    /// Few rows of x (a decoding step's) are taken two at a time through all of a group's blocks with their sums
    /// in registers; more rows, up to <see cref="TileRows"/> at a time per pass over the group's blocks, each block's
    /// weights loaded once for all of them and the sums kept in memory (a chain through memory per row, hidden when
    /// many rows are in flight, but not when two are). A q4 group goes through as two groups of 8 rows.
    /// </summary>
    // Fully optimized from the first call: a generation's first steps must not run unoptimized kernels. The tile's
    // sums are zeroed where a tile starts; zeroing them on entry as well cost a decoding step, which never uses them,
    // a 2 KB clear per call.
    [MethodImpl(MethodImplOptions.AggressiveOptimization), SkipLocalsInit]
    private static void Groups<TFormat>(byte* groups, in QuantizedInput x, float* y, int n, int g0, int g1)
        where TFormat : struct, IUnitFormat
    {
        int m = x.Rows, blocks = x.Blocks;
        float* sums = stackalloc float[HalfRows * TileRows];
        for (int g = g0; g < g1; g++)
        {
            byte* group = groups + (long)g * blocks * TFormat.UnitBytes;
            int first = g * TFormat.GroupRows;
            if (m <= RegisterRows)
            {
                for (int i = 0; i < m; i += 2)
                    if (i + 1 < m) RowPair<TFormat>(group, x, i, y + (long)i * n, n, first);
                    else SingleRow<TFormat>(group, x, i, y + (long)i * n, n, first);
                continue;
            }
            // Rows 8–15 of a q4 group lie 32 bytes into each of its vectors and among its scales.
            for (int half = 0; half < TFormat.GroupRows && first + half < n; half += HalfRows)
                TileHalf<TFormat>(group + 4 * half, x, y, n, first + half, sums);
        }
    }

    /// <summary>The 8 weight rows from row first on, whose units start at group, against every row of x, in tiles (sums: a tile's work area).</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static void TileHalf<TFormat>(byte* group, in QuantizedInput x, float* y, int n, int first, float* sums)
        where TFormat : struct, IUnitFormat
    {
        int m = x.Rows, blocks = x.Blocks;
        for (int i0 = 0; i0 < m; i0 += TileRows)
        {
            int rows = Math.Min(TileRows, m - i0);
            for (int i = 0; i < rows; i++) Vector256<float>.Zero.Store(sums + HalfRows * i);
            byte* unit = group;
            for (int b = 0; b < blocks; b++, unit += TFormat.UnitBytes)
            {
                TFormat.Load(unit, out var w0, out var w1, out var w2, out var w3, out var w4, out var w5, out var w6, out var w7);
                var weightScales = Vector256.Load((float*)(unit + TFormat.ValueBytes));
                int* xq = (int*)x.Values(b, i0);
                float* scales = x.Scales + (long)b * m + i0;
                int* starts = x.Starts + (long)b * m + i0;
                int i = 0;
                for (; i + 2 <= rows; i += 2, xq += Block / 2)
                {
                    BlockDots(starts[i], starts[i + 1], xq, w0, w1, w2, w3, w4, w5, w6, w7, out var dot0, out var dot1);
                    float* sum = sums + HalfRows * i;
                    Fma.MultiplyAdd(Avx.ConvertToVector256Single(dot0), weightScales * Vector256.Create(scales[i]), Vector256.Load(sum)).Store(sum);
                    Fma.MultiplyAdd(Avx.ConvertToVector256Single(dot1), weightScales * Vector256.Create(scales[i + 1]), Vector256.Load(sum + HalfRows)).Store(sum + HalfRows);
                }
                if (i < rows)
                {
                    var dot = BlockDot(starts[i], xq, w0, w1, w2, w3, w4, w5, w6, w7);
                    Fma.MultiplyAdd(Avx.ConvertToVector256Single(dot), weightScales * Vector256.Create(scales[i]), Vector256.Load(sums + HalfRows * i)).Store(sums + HalfRows * i);
                }
            }
            for (int i = 0; i < rows; i++) Store(Vector256.Load(sums + HalfRows * i), y + (long)(i0 + i) * n, n, first);
        }
    }

    /// <summary>Up to this many rows of x go through a group two at a time with their sums in registers.</summary>
    public const int RegisterRows = 4;

    /// <summary>
    /// Rows i and i + 1 of x against one group, into y (row i) and y + n; a q4 group's two halves block by block, so
    /// that its units are read in order.
    /// </summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static void RowPair<TFormat>(byte* unit, in QuantizedInput x, int i, float* y, int n, int first)
        where TFormat : struct, IUnitFormat
    {
        Vector256<float> sum0 = default, sum1 = default, upper0 = default, upper1 = default;
        // Pointers to the two rows' values, scales and starts, a block (all rows) apart from one block to the next.
        int m = x.Rows, blocks = x.Blocks;
        int* xq = (int*)x.Values(0, i);
        float* scales = x.Scales + i;
        int* starts = x.Starts + i;
        for (int b = 0; b < blocks; b++, unit += TFormat.UnitBytes, xq += m * (Block / 4), scales += m, starts += m)
        {
            PairBlock<TFormat>(unit, xq, starts, scales, ref sum0, ref sum1);
            if (TFormat.GroupRows > HalfRows) PairBlock<TFormat>(unit + 4 * HalfRows, xq, starts, scales, ref upper0, ref upper1);
        }
        Store(sum0, y, n, first);
        Store(sum1, y + n, n, first);
        if (TFormat.GroupRows <= HalfRows) return;
        Store(upper0, y, n, first + HalfRows);
        Store(upper1, y + n, n, first + HalfRows);
    }

    /// <summary>One block of 8 weight rows (their unit's values from unit on) against two rows of x, added to their sums.</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static void PairBlock<TFormat>(byte* unit, int* xq, int* starts, float* scales, ref Vector256<float> sum0, ref Vector256<float> sum1)
        where TFormat : struct, IUnitFormat
    {
        TFormat.Load(unit, out var w0, out var w1, out var w2, out var w3, out var w4, out var w5, out var w6, out var w7);
        var weightScales = Vector256.Load((float*)(unit + TFormat.ValueBytes));
        BlockDots(starts[0], starts[1], xq, w0, w1, w2, w3, w4, w5, w6, w7, out var dot0, out var dot1);
        sum0 = Fma.MultiplyAdd(Avx.ConvertToVector256Single(dot0), weightScales * Vector256.Create(scales[0]), sum0);
        sum1 = Fma.MultiplyAdd(Avx.ConvertToVector256Single(dot1), weightScales * Vector256.Create(scales[1]), sum1);
    }

    /// <summary>Row i of x against one group, into y.</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static void SingleRow<TFormat>(byte* unit, in QuantizedInput x, int i, float* y, int n, int first)
        where TFormat : struct, IUnitFormat
    {
        Vector256<float> sum = default, upper = default;
        int m = x.Rows, blocks = x.Blocks;
        int* xq = (int*)x.Values(0, i);
        float* scales = x.Scales + i;
        int* starts = x.Starts + i;
        for (int b = 0; b < blocks; b++, unit += TFormat.UnitBytes, xq += m * (Block / 4), scales += m, starts += m)
        {
            SingleBlock<TFormat>(unit, xq, starts, scales, ref sum);
            if (TFormat.GroupRows > HalfRows) SingleBlock<TFormat>(unit + 4 * HalfRows, xq, starts, scales, ref upper);
        }
        Store(sum, y, n, first);
        if (TFormat.GroupRows > HalfRows) Store(upper, y, n, first + HalfRows);
    }

    /// <summary>One block of 8 weight rows against one row of x, added to its sums.</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static void SingleBlock<TFormat>(byte* unit, int* xq, int* starts, float* scales, ref Vector256<float> sum)
        where TFormat : struct, IUnitFormat
    {
        TFormat.Load(unit, out var w0, out var w1, out var w2, out var w3, out var w4, out var w5, out var w6, out var w7);
        var dot = BlockDot(starts[0], xq, w0, w1, w2, w3, w4, w5, w6, w7);
        sum = Fma.MultiplyAdd(Avx.ConvertToVector256Single(dot), Vector256.Load((float*)(unit + TFormat.ValueBytes)) * Vector256.Create(scales[0]), sum);
    }

    /// <summary>
    /// The 8 rows' integer sums over one block against the block of x at xq (as 8 groups of 4 bytes), starting
    /// from start: two chains of 4 vpdpbusd, so that neither waits on the other's latency.
    /// </summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static Vector256<int> BlockDot(int start, int* xq, Vector256<byte> w0, Vector256<byte> w1, Vector256<byte> w2, Vector256<byte> w3,
        Vector256<byte> w4, Vector256<byte> w5, Vector256<byte> w6, Vector256<byte> w7)
    {
        var even = Vector256.Create(start);
        var odd = Vector256<int>.Zero;
        even = AvxVnni.MultiplyWideningAndAdd(even, w0, Vector256.Create(xq[0]).AsSByte());
        odd = AvxVnni.MultiplyWideningAndAdd(odd, w1, Vector256.Create(xq[1]).AsSByte());
        even = AvxVnni.MultiplyWideningAndAdd(even, w2, Vector256.Create(xq[2]).AsSByte());
        odd = AvxVnni.MultiplyWideningAndAdd(odd, w3, Vector256.Create(xq[3]).AsSByte());
        even = AvxVnni.MultiplyWideningAndAdd(even, w4, Vector256.Create(xq[4]).AsSByte());
        odd = AvxVnni.MultiplyWideningAndAdd(odd, w5, Vector256.Create(xq[5]).AsSByte());
        even = AvxVnni.MultiplyWideningAndAdd(even, w6, Vector256.Create(xq[6]).AsSByte());
        odd = AvxVnni.MultiplyWideningAndAdd(odd, w7, Vector256.Create(xq[7]).AsSByte());
        return even + odd;
    }

    /// <summary>
    /// <see cref="BlockDot"/> for two rows of x at once (the second's block 32 bytes after the first's), their
    /// instructions interleaved: four chains in flight, which one row after the other did not keep.
    /// </summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static void BlockDots(int start0, int start1, int* xq, Vector256<byte> w0, Vector256<byte> w1, Vector256<byte> w2, Vector256<byte> w3,
        Vector256<byte> w4, Vector256<byte> w5, Vector256<byte> w6, Vector256<byte> w7, out Vector256<int> dot0, out Vector256<int> dot1)
    {
        var even0 = Vector256.Create(start0);
        var even1 = Vector256.Create(start1);
        var odd0 = Vector256<int>.Zero;
        var odd1 = Vector256<int>.Zero;
        even0 = AvxVnni.MultiplyWideningAndAdd(even0, w0, Vector256.Create(xq[0]).AsSByte());
        even1 = AvxVnni.MultiplyWideningAndAdd(even1, w0, Vector256.Create(xq[8]).AsSByte());
        odd0 = AvxVnni.MultiplyWideningAndAdd(odd0, w1, Vector256.Create(xq[1]).AsSByte());
        odd1 = AvxVnni.MultiplyWideningAndAdd(odd1, w1, Vector256.Create(xq[9]).AsSByte());
        even0 = AvxVnni.MultiplyWideningAndAdd(even0, w2, Vector256.Create(xq[2]).AsSByte());
        even1 = AvxVnni.MultiplyWideningAndAdd(even1, w2, Vector256.Create(xq[10]).AsSByte());
        odd0 = AvxVnni.MultiplyWideningAndAdd(odd0, w3, Vector256.Create(xq[3]).AsSByte());
        odd1 = AvxVnni.MultiplyWideningAndAdd(odd1, w3, Vector256.Create(xq[11]).AsSByte());
        even0 = AvxVnni.MultiplyWideningAndAdd(even0, w4, Vector256.Create(xq[4]).AsSByte());
        even1 = AvxVnni.MultiplyWideningAndAdd(even1, w4, Vector256.Create(xq[12]).AsSByte());
        odd0 = AvxVnni.MultiplyWideningAndAdd(odd0, w5, Vector256.Create(xq[5]).AsSByte());
        odd1 = AvxVnni.MultiplyWideningAndAdd(odd1, w5, Vector256.Create(xq[13]).AsSByte());
        even0 = AvxVnni.MultiplyWideningAndAdd(even0, w6, Vector256.Create(xq[6]).AsSByte());
        even1 = AvxVnni.MultiplyWideningAndAdd(even1, w6, Vector256.Create(xq[14]).AsSByte());
        odd0 = AvxVnni.MultiplyWideningAndAdd(odd0, w7, Vector256.Create(xq[7]).AsSByte());
        odd1 = AvxVnni.MultiplyWideningAndAdd(odd1, w7, Vector256.Create(xq[15]).AsSByte());
        dot0 = even0 + odd0;
        dot1 = even1 + odd1;
    }

    /// <summary>One row's 8 sums to y[first … first + 7], only the columns below n.</summary>
    private static void Store(Vector256<float> sums, float* y, int n, int first)
    {
        if (first + HalfRows <= n) sums.Store(y + first);
        else
            for (int r = 0; first + r < n; r++) y[first + r] = sums.GetElement(r);
    }

    /// <summary>One row's 16 sums to y[first … first + 15], only the columns below n.</summary>
    private static void Store(Vector512<float> sums, float* y, int n, int first)
    {
        if (first + Int4Units.GroupRows <= n) sums.Store(y + first);
        else
            for (int r = 0; first + r < n; r++) y[first + r] = sums.GetElement(r);
    }

    /// <summary>
    /// q4 with 512-bit vectors: as <see cref="Groups{TFormat}"/>, 16 rows per vector, each block's products summed
    /// in int16 by vpmaddubsw and widened once (<see cref="WideBlockDot"/>).
    /// </summary>
    // Fully optimized from the first call; the tile's sums are zeroed where a tile starts (see Groups).
    [MethodImpl(MethodImplOptions.AggressiveOptimization), SkipLocalsInit]
    private static void WideGroups(byte* groups, in QuantizedInput x, float* y, int n, int g0, int g1)
    {
        const int rowsOfGroup = Int4Units.GroupRows;
        int m = x.Rows, blocks = x.Blocks;
        long groupBytes = (long)blocks * Int4Units.UnitBytes;
        if (m <= RegisterRows)
        {
            for (int g = g0; g < g1; g++)
                for (int i = 0; i < m; i += 2)
                    if (i + 1 < m) WideRowPair(groups + g * groupBytes, x, i, y + (long)i * n, n, g * rowsOfGroup);
                    else WideSingleRow(groups + g * groupBytes, x, i, y + (long)i * n, n, g * rowsOfGroup);
            return;
        }
        // Two groups at a time, each broadcast of x feeding both (an odd last group goes with itself, its second
        // sums dropped); per row and block the sums go through memory, hidden by the other rows in flight.
        float* sums = stackalloc float[2 * rowsOfGroup * TileRows];
        for (int g = g0; g < g1; g += 2)
        {
            byte* group = groups + g * groupBytes, next = g + 1 < g1 ? group + groupBytes : group;
            for (int i0 = 0; i0 < m; i0 += TileRows)
            {
                int rows = Math.Min(TileRows, m - i0);
                for (int i = 0; i < 2 * rows; i++) Vector512<float>.Zero.Store(sums + rowsOfGroup * i);
                for (int b = 0; b < blocks; b++)
                {
                    byte* unit = group + (long)b * Int4Units.UnitBytes, nextUnit = next + (long)b * Int4Units.UnitBytes;
                    WideLoad(unit, out var w0, out var w1, out var w2, out var w3, out var w4, out var w5, out var w6, out var w7);
                    WideLoad(nextUnit, out var v0, out var v1, out var v2, out var v3, out var v4, out var v5, out var v6, out var v7);
                    var weightScales = Vector512.Load((float*)(unit + Int4Units.ValueBytes));
                    var nextScales = Vector512.Load((float*)(nextUnit + Int4Units.ValueBytes));
                    int* xq = (int*)x.Values(b, i0);
                    float* scales = x.Scales + (long)b * m + i0;
                    int* starts = x.Starts + (long)b * m + i0;
                    for (int i = 0; i < rows; i++, xq += Block / 4)
                    {
                        WideBlockDots(starts[i], xq, w0, w1, w2, w3, w4, w5, w6, w7, v0, v1, v2, v3, v4, v5, v6, v7, out var dot, out var nextDot);
                        float* sum = sums + 2 * rowsOfGroup * i;
                        var scale = Vector512.Create(scales[i]);
                        Avx512F.FusedMultiplyAdd(Avx512F.ConvertToVector512Single(dot), weightScales * scale, Vector512.Load(sum)).Store(sum);
                        Avx512F.FusedMultiplyAdd(Avx512F.ConvertToVector512Single(nextDot), nextScales * scale, Vector512.Load(sum + rowsOfGroup)).Store(sum + rowsOfGroup);
                    }
                }
                for (int i = 0; i < rows; i++)
                {
                    float* sum = sums + 2 * rowsOfGroup * i, row = y + (long)(i0 + i) * n;
                    Store(Vector512.Load(sum), row, n, g * rowsOfGroup);
                    if (g + 1 < g1) Store(Vector512.Load(sum + rowsOfGroup), row, n, (g + 1) * rowsOfGroup);
                }
            }
        }
    }

    /// <summary>Rows i and i + 1 of x against one q4 group with 512-bit vectors, into y (row i) and y + n.</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static void WideRowPair(byte* unit, in QuantizedInput x, int i, float* y, int n, int first)
    {
        Vector512<float> sum0 = default, sum1 = default;
        int m = x.Rows, blocks = x.Blocks;
        int* xq = (int*)x.Values(0, i);
        float* scales = x.Scales + i;
        int* starts = x.Starts + i;
        for (int b = 0; b < blocks; b++, unit += Int4Units.UnitBytes, xq += m * (Block / 4), scales += m, starts += m)
        {
            WideLoad(unit, out var w0, out var w1, out var w2, out var w3, out var w4, out var w5, out var w6, out var w7);
            var weightScales = Vector512.Load((float*)(unit + Int4Units.ValueBytes));
            var dot0 = WideBlockDot(starts[0], xq, w0, w1, w2, w3, w4, w5, w6, w7);
            var dot1 = WideBlockDot(starts[1], xq + Block / 4, w0, w1, w2, w3, w4, w5, w6, w7);
            sum0 = Avx512F.FusedMultiplyAdd(Avx512F.ConvertToVector512Single(dot0), weightScales * Vector512.Create(scales[0]), sum0);
            sum1 = Avx512F.FusedMultiplyAdd(Avx512F.ConvertToVector512Single(dot1), weightScales * Vector512.Create(scales[1]), sum1);
        }
        Store(sum0, y, n, first);
        Store(sum1, y + n, n, first);
    }

    /// <summary>Row i of x against one q4 group with 512-bit vectors, into y.</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static void WideSingleRow(byte* unit, in QuantizedInput x, int i, float* y, int n, int first)
    {
        Vector512<float> sum = default;
        int m = x.Rows, blocks = x.Blocks;
        int* xq = (int*)x.Values(0, i);
        float* scales = x.Scales + i;
        int* starts = x.Starts + i;
        for (int b = 0; b < blocks; b++, unit += Int4Units.UnitBytes, xq += m * (Block / 4), scales += m, starts += m)
        {
            WideLoad(unit, out var w0, out var w1, out var w2, out var w3, out var w4, out var w5, out var w6, out var w7);
            var dot = WideBlockDot(starts[0], xq, w0, w1, w2, w3, w4, w5, w6, w7);
            sum = Avx512F.FusedMultiplyAdd(Avx512F.ConvertToVector512Single(dot), Vector512.Load((float*)(unit + Int4Units.ValueBytes)) * Vector512.Create(scales[0]), sum);
        }
        Store(sum, y, n, first);
    }

    /// <summary>A q4 unit's 64-byte vectors as 8 vectors of nibbles: w0–w3 the low ones (inputs 4t …), w4–w7 the high ones (16 + 4t …).</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static void WideLoad(byte* unit, out Vector512<byte> w0, out Vector512<byte> w1, out Vector512<byte> w2, out Vector512<byte> w3,
        out Vector512<byte> w4, out Vector512<byte> w5, out Vector512<byte> w6, out Vector512<byte> w7)
    {
        var nibble = Vector512.Create((byte)15);
        var v0 = Vector512.Load(unit); var v1 = Vector512.Load(unit + 64); var v2 = Vector512.Load(unit + 128); var v3 = Vector512.Load(unit + 192);
        w0 = v0 & nibble; w1 = v1 & nibble; w2 = v2 & nibble; w3 = v3 & nibble;
        w4 = Avx512BW.ShiftRightLogical(v0.AsUInt16(), 4).AsByte() & nibble; w5 = Avx512BW.ShiftRightLogical(v1.AsUInt16(), 4).AsByte() & nibble;
        w6 = Avx512BW.ShiftRightLogical(v2.AsUInt16(), 4).AsByte() & nibble; w7 = Avx512BW.ShiftRightLogical(v3.AsUInt16(), 4).AsByte() & nibble;
    }

    /// <summary><see cref="WideBlockDot"/> for two groups' blocks (w, v) against the same block of x, its broadcasts made once.</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static void WideBlockDots(int start, int* xq, Vector512<byte> w0, Vector512<byte> w1, Vector512<byte> w2, Vector512<byte> w3,
        Vector512<byte> w4, Vector512<byte> w5, Vector512<byte> w6, Vector512<byte> w7, Vector512<byte> v0, Vector512<byte> v1,
        Vector512<byte> v2, Vector512<byte> v3, Vector512<byte> v4, Vector512<byte> v5, Vector512<byte> v6, Vector512<byte> v7,
        out Vector512<int> dot, out Vector512<int> nextDot)
    {
        var x0 = Vector512.Create(xq[0]).AsSByte(); var x1 = Vector512.Create(xq[1]).AsSByte();
        var x2 = Vector512.Create(xq[2]).AsSByte(); var x3 = Vector512.Create(xq[3]).AsSByte();
        var x4 = Vector512.Create(xq[4]).AsSByte(); var x5 = Vector512.Create(xq[5]).AsSByte();
        var x6 = Vector512.Create(xq[6]).AsSByte(); var x7 = Vector512.Create(xq[7]).AsSByte();
        dot = WidePairSums(w0, w1, w2, w3, w4, w5, w6, w7, x0, x1, x2, x3, x4, x5, x6, x7) + Vector512.Create(start);
        nextDot = WidePairSums(v0, v1, v2, v3, v4, v5, v6, v7, x0, x1, x2, x3, x4, x5, x6, x7) + Vector512.Create(start);
    }

    /// <summary>Σ w_t · x_t over the 8 vectors of a block, per 32-bit lane: in int16 pairs, widened once.</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static Vector512<int> WidePairSums(Vector512<byte> w0, Vector512<byte> w1, Vector512<byte> w2, Vector512<byte> w3,
        Vector512<byte> w4, Vector512<byte> w5, Vector512<byte> w6, Vector512<byte> w7, Vector512<sbyte> x0, Vector512<sbyte> x1,
        Vector512<sbyte> x2, Vector512<sbyte> x3, Vector512<sbyte> x4, Vector512<sbyte> x5, Vector512<sbyte> x6, Vector512<sbyte> x7)
    {
        var low = Avx512BW.MultiplyAddAdjacent(w0, x0) + Avx512BW.MultiplyAddAdjacent(w1, x1) + (Avx512BW.MultiplyAddAdjacent(w2, x2) + Avx512BW.MultiplyAddAdjacent(w3, x3));
        var high = Avx512BW.MultiplyAddAdjacent(w4, x4) + Avx512BW.MultiplyAddAdjacent(w5, x5) + (Avx512BW.MultiplyAddAdjacent(w6, x6) + Avx512BW.MultiplyAddAdjacent(w7, x7));
        return Avx512BW.MultiplyAddAdjacent(low + high, Vector512.Create((short)1));
    }

    /// <summary>
    /// The 16 rows' integer sums over one block against the block of x at xq, plus start: vector t's pairs of
    /// products summed in int16 (exact: see <see cref="IntegerGemm"/>), then the pairs of each lane in int32.
    /// </summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static Vector512<int> WideBlockDot(int start, int* xq, Vector512<byte> w0, Vector512<byte> w1, Vector512<byte> w2, Vector512<byte> w3,
        Vector512<byte> w4, Vector512<byte> w5, Vector512<byte> w6, Vector512<byte> w7)
    {
        return WidePairSums(w0, w1, w2, w3, w4, w5, w6, w7, Vector512.Create(xq[0]).AsSByte(), Vector512.Create(xq[1]).AsSByte(),
            Vector512.Create(xq[2]).AsSByte(), Vector512.Create(xq[3]).AsSByte(), Vector512.Create(xq[4]).AsSByte(),
            Vector512.Create(xq[5]).AsSByte(), Vector512.Create(xq[6]).AsSByte(), Vector512.Create(xq[7]).AsSByte()) + Vector512.Create(start);
    }

    /// <summary>
    /// x quantized for one product, block-major so that a block's rows lie together: per block and row 32 signed
    /// bytes, then every scale d, then every start −offset · Σq (see <see cref="IntegerGemm"/>).
    /// </summary>
    private readonly struct QuantizedInput
    {
        private readonly sbyte* _values;
        public readonly float* Scales;
        public readonly int* Starts;
        public readonly int Rows, Blocks;

        public QuantizedInput(float* memory, int m, int k)
        {
            Rows = m;
            Blocks = k / Block;
            _values = (sbyte*)memory;
            Scales = memory + (long)Blocks * m * (Block / 4);
            Starts = (int*)(Scales + (long)Blocks * m);
        }

        /// <summary>The 32 values of block b of row i.</summary>
        public sbyte* Values(int b, int i) => _values + ((long)b * Rows + i) * Block;
    }

    /// <summary>How one type's units read: 8 vectors of unsigned bytes, vector t against inputs 4t … 4t + 3 of x.</summary>
    private interface IUnitFormat
    {
        static abstract int GroupRows { get; }
        /// <summary>Bytes of one stored vector: 4 per row of the group.</summary>
        static abstract int VectorBytes { get; }
        /// <summary>Bytes of the values of a unit (the group's scales follow them).</summary>
        static abstract int ValueBytes { get; }
        static abstract int UnitBytes { get; }
        /// <summary>Bytes of one row's block in <see cref="PackedMatrix"/>'s layout.</summary>
        static abstract int SourceBlockBytes { get; }
        /// <summary>What a stored weight adds to its q: Σ u·x = Σ q·x + offset · Σ x.</summary>
        static abstract int Offset { get; }
        /// <summary>4 bytes of a row whose weights are all q = 0, in <see cref="PackedMatrix"/>'s layout.</summary>
        static abstract uint ZeroWord { get; }
        /// <summary>What the interleaving xors into every 4 bytes (q8: signed to offset by 128).</summary>
        static abstract uint StoredFlip { get; }
        static abstract void Load(byte* unit, out Vector256<byte> w0, out Vector256<byte> w1, out Vector256<byte> w2, out Vector256<byte> w3,
            out Vector256<byte> w4, out Vector256<byte> w5, out Vector256<byte> w6, out Vector256<byte> w7);
    }

    private struct Int8Units : IUnitFormat
    {
        public const int GroupRows = 8, UnitBytes = 8 * 32 + 4 * GroupRows, Offset = 128;
        static int IUnitFormat.GroupRows => GroupRows;
        static int IUnitFormat.VectorBytes => 4 * GroupRows;
        static int IUnitFormat.ValueBytes => 8 * 32;
        static int IUnitFormat.UnitBytes => UnitBytes;
        static int IUnitFormat.SourceBlockBytes => Block;
        static int IUnitFormat.Offset => Offset;
        static uint IUnitFormat.ZeroWord => 0;
        static uint IUnitFormat.StoredFlip => 0x80808080;

        [MethodImpl(MethodImplOptions.AggressiveInlining)]
        public static void Load(byte* unit, out Vector256<byte> w0, out Vector256<byte> w1, out Vector256<byte> w2, out Vector256<byte> w3,
            out Vector256<byte> w4, out Vector256<byte> w5, out Vector256<byte> w6, out Vector256<byte> w7)
        {
            w0 = Vector256.Load(unit); w1 = Vector256.Load(unit + 32); w2 = Vector256.Load(unit + 64); w3 = Vector256.Load(unit + 96);
            w4 = Vector256.Load(unit + 128); w5 = Vector256.Load(unit + 160); w6 = Vector256.Load(unit + 192); w7 = Vector256.Load(unit + 224);
        }
    }

    private struct Int4Units : IUnitFormat
    {
        public const int GroupRows = 16, ValueBytes = 4 * 4 * GroupRows, UnitBytes = ValueBytes + 4 * GroupRows, Offset = 8;
        static int IUnitFormat.GroupRows => GroupRows;
        static int IUnitFormat.VectorBytes => 4 * GroupRows;
        static int IUnitFormat.ValueBytes => ValueBytes;
        static int IUnitFormat.UnitBytes => UnitBytes;
        static int IUnitFormat.SourceBlockBytes => Block / 2;
        static int IUnitFormat.Offset => Offset;
        static uint IUnitFormat.ZeroWord => 0x88888888;
        static uint IUnitFormat.StoredFlip => 0;

        /// <summary>
        /// 8 rows' half of each of the unit's vectors (unit points at rows 0–7's or 8–15's): the low nibbles of vector
        /// t are inputs 4t …, against x's group t; the high ones, 16 + 4t …, against group t + 4.
        /// </summary>
        [MethodImpl(MethodImplOptions.AggressiveInlining)]
        public static void Load(byte* unit, out Vector256<byte> w0, out Vector256<byte> w1, out Vector256<byte> w2, out Vector256<byte> w3,
            out Vector256<byte> w4, out Vector256<byte> w5, out Vector256<byte> w6, out Vector256<byte> w7)
        {
            var nibble = Vector256.Create((byte)15);
            var v0 = Vector256.Load(unit); var v1 = Vector256.Load(unit + 64); var v2 = Vector256.Load(unit + 128); var v3 = Vector256.Load(unit + 192);
            w0 = v0 & nibble; w1 = v1 & nibble; w2 = v2 & nibble; w3 = v3 & nibble;
            w4 = Avx2.ShiftRightLogical(v0.AsUInt16(), 4).AsByte() & nibble; w5 = Avx2.ShiftRightLogical(v1.AsUInt16(), 4).AsByte() & nibble;
            w6 = Avx2.ShiftRightLogical(v2.AsUInt16(), 4).AsByte() & nibble; w7 = Avx2.ShiftRightLogical(v3.AsUInt16(), 4).AsByte() & nibble;
        }
    }
}
