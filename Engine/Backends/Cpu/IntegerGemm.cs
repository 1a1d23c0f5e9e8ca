using System.Runtime.CompilerServices;
using System.Runtime.Intrinsics;
using System.Runtime.Intrinsics.X86;
using MusicGen.Loaders.Checkpoints;

namespace MusicGen.Engine.Backends.Cpu;

/// <summary>
/// y[M, N] = x[M, K] · W[N, K]ᵀ for q8 and q4 weights with 8-bit integer dot products: AVX-VNNI's vpdpbusd
/// multiplies 32 unsigned bytes by 32 signed bytes and adds each 4 adjacent products into one of 8 int32 lanes.
/// A product first quantizes x, every block of 32 inputs of a row to int8 with a float32 scale as q8 weights are
/// (<see cref="Quantize"/>), once for all output rows; each block's integer sum is then scaled by the weight
/// block's scale times x's and added in float32.
/// <para>
/// The weights are laid out once at load in row groups (<see cref="Interleave"/>): the 8 lanes of a vector are 8
/// weight rows, so one vpdpbusd takes 4 inputs of x broadcast to every lane and leaves 8 outputs' partial sums in
/// their own lanes; no horizontal sums are needed, and each group is one sequential stream of bytes. A group holds
/// 8 rows (the last one padded with zero rows), block after block; per block of 32 inputs a unit holds the rows'
/// values, then their 8 float32 scales:
/// </para>
/// <list type="bullet">
/// <item>q8 (288 bytes a unit): 8 vectors of 32 bytes; vector t holds inputs 4t … 4t + 3 of the 8 rows (row r in
///   bytes 4r … 4r + 3), each as q + 128, an unsigned byte.</item>
/// <item>q4 (160 bytes a unit): 4 vectors; vector t holds bytes 4t … 4t + 3 of each row's 16-byte block as
///   <see cref="PackedMatrix"/> stores them: inputs 4t … 4t + 3 in the low nibbles, 16 + 4t … in the high ones,
///   each q + 8.</item>
/// </list>
/// Since the weights are stored as u = q + offset, Σ u·x = Σ q·x + offset · Σ x: each block's accumulator starts at
/// −offset · Σ x, which the quantization of x computes once per block.
/// </summary>
internal static unsafe class IntegerGemm
{
    public const int GroupRows = 8;

    /// <summary>Rows of x whose partial sums are kept per pass over a group's weights (a pass's work area on the stack).</summary>
    private const int TileRows = 64;

    private const int Block = PackedMatrix.BlockSize;

    /// <summary>Whether this CPU has the 8-bit dot products (and the AVX2 and FMA the rest of the kernels use).</summary>
    public static bool IsSupported => AvxVnni.IsSupported && Avx2.IsSupported && Fma.IsSupported;

    private static int UnitBytes(WeightType type) => type switch
    {
        WeightType.Q8 => Int8Units.UnitBytes,
        WeightType.Q4 => Int4Units.UnitBytes,
        _ => throw new ArgumentOutOfRangeException(nameof(type), $"{type.Name()} has no integer layout"),
    };

    /// <summary>Bytes of a [rows, columns] matrix in row groups.</summary>
    public static long ByteCount(WeightType type, int rows, int columns) =>
        (long)(rows + GroupRows - 1) / GroupRows * (columns / Block) * UnitBytes(type);

    /// <summary>Where the row groups start in the array that holds them: the kernels read every unit from a cache-line boundary.</summary>
    public const int Alignment = 64;

    /// <summary>
    /// A q8 or q4 matrix in row groups, in a new array that the garbage collector never moves (the pinned heap), the
    /// groups from its first <see cref="Alignment"/>-byte boundary on (<see cref="FirstGroup"/>): the units' vector loads
    /// then fall at the same place in every cache line, which the kernels' speed depends on, so the matrix's own array
    /// (at any address, and movable) is not reused.
    /// </summary>
    public static byte[] Interleave(PackedMatrix matrix)
    {
        var array = GC.AllocateUninitializedArray<byte>(checked((int)ByteCount(matrix.Type, matrix.Rows, matrix.Columns) + Alignment - 1), pinned: true);
        fixed (byte* start = array) InterleaveInto(matrix, FirstGroup(start));
        return array;
    }

    /// <summary>The first group in an array from <see cref="Interleave"/>, whose first element is at <paramref name="array"/>.</summary>
    private static byte* FirstGroup(byte* array) => (byte*)(((nint)array + Alignment - 1) & ~(nint)(Alignment - 1));

    /// <summary>The groups one after the other from <paramref name="output"/>, each from its rows' values and scales in the matrix.</summary>
    private static void InterleaveInto(PackedMatrix matrix, byte* output)
    {
        int rows = matrix.Rows, columns = matrix.Columns, blocks = columns / Block, groups = (rows + GroupRows - 1) / GroupRows;
        int rowBytes = (int)(matrix.ScaleOffset / rows), unitBytes = UnitBytes(matrix.Type);
        fixed (byte* source = matrix.Data)
            for (int g = 0; g < groups; g++)
            {
                int real = Math.Min(GroupRows, rows - g * GroupRows);
                var groupScales = (float*)(source + matrix.ScaleOffset) + (long)g * GroupRows * blocks;
                byte* values = source + (long)g * GroupRows * rowBytes, units = output + (long)g * blocks * unitBytes;
                if (matrix.Type == WeightType.Q8) InterleaveGroup<Int8Units>(values, groupScales, real, columns, units);
                else InterleaveGroup<Int4Units>(values, groupScales, real, columns, units);
            }
    }

    /// <summary>
    /// One group, block by block: each 16 bytes of the 8 rows' blocks become 4 vectors by a 4 × 4 transpose of
    /// 4-byte words within each 128-bit half (rows 0–3 in the low half, 4–7 in the high one). The group's rows
    /// follow one another from values, their scales from scales; rows from real on are padding, read as 16 bytes of q = 0.
    /// </summary>
    // Fully optimized from the first call: each matrix of a model calls it once per group.
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    private static void InterleaveGroup<TFormat>(byte* values, float* scales, int real, int columns, byte* unit)
        where TFormat : struct, IUnitFormat
    {
        int blocks = columns / Block, blockBytes = TFormat.SourceBlockBytes;
        long rowBytes = (long)blocks * blockBytes;
        var zeros = stackalloc uint[4] { TFormat.ZeroWord, TFormat.ZeroWord, TFormat.ZeroWord, TFormat.ZeroWord };
        var flip = Vector256.Create(TFormat.StoredFlip).AsSingle();
        for (int b = 0; b < blocks; b++, unit += TFormat.UnitBytes)
        {
            for (int half = 0; half < blockBytes / 16; half++)
            {
                Vector128<float> Part(int r) => Vector128.Load(r < real ? (float*)(values + r * rowBytes + (long)b * blockBytes + 16 * half) : (float*)zeros);
                Vector256<float> Rows(int r) => Vector256.Create(Part(r), Part(r + 4));
                var t0 = Avx.UnpackLow(Rows(0), Rows(1));
                var t1 = Avx.UnpackHigh(Rows(0), Rows(1));
                var t2 = Avx.UnpackLow(Rows(2), Rows(3));
                var t3 = Avx.UnpackHigh(Rows(2), Rows(3));
                float* output = (float*)(unit + 128 * half);
                (Avx.Shuffle(t0, t2, 0x44) ^ flip).Store(output);
                (Avx.Shuffle(t0, t2, 0xEE) ^ flip).Store(output + 8);
                (Avx.Shuffle(t1, t3, 0x44) ^ flip).Store(output + 16);
                (Avx.Shuffle(t1, t3, 0xEE) ^ flip).Store(output + 24);
            }
            for (int r = 0; r < GroupRows; r++)
                ((float*)(unit + TFormat.ValueBytes))[r] = r < real ? scales[(long)r * blocks + b] : 0f;
        }
    }

    /// <summary>Rows [j0, j1) of a matrix in row groups (an array from <see cref="Interleave"/>), in float32, into panel [j1 − j0, columns]: the exact weights, for products that need them.</summary>
    public static void Decode(WeightType type, byte[] array, int columns, int j0, int j1, float* panel)
    {
        fixed (byte* start = array) Decode(type, FirstGroup(start), columns, j0, j1, panel);
    }

    private static void Decode(WeightType type, byte* groups, int columns, int j0, int j1, float* panel)
    {
        int blocks = columns / Block, unitBytes = UnitBytes(type);
        for (int j = j0; j < j1; j++)
        {
            int r = j % GroupRows;
            byte* unit = groups + (long)(j / GroupRows) * blocks * unitBytes;
            float* output = panel + (long)(j - j0) * columns;
            for (int b = 0; b < blocks; b++, unit += unitBytes)
            {
                float scale = ((float*)(unit + unitBytes - 4 * GroupRows))[r];
                for (int i = 0; i < Block; i++)
                {
                    int q = type == WeightType.Q8
                        ? unit[32 * (i / 4) + 4 * r + i % 4] - 128
                        : (unit[32 * (i % 16 / 4) + 4 * r + i % 4] >> (i < 16 ? 0 : 4) & 15) - 8;
                    output[b * Block + i] = scale * q;
                }
            }
        }
    }

    /// <summary>Floats of work memory x [m, k] quantized takes: per block and row 32 bytes, a scale and a start.</summary>
    public static int QuantizedFloats(int m, int k) => checked(k / Block * m * (Block / 4 + 2));

    /// <summary>
    /// Quantizes rows [i0, i1) of x [m, k] into <paramref name="memory"/> (<see cref="QuantizedFloats"/> long) for
    /// products with <paramref name="type"/> weights: per block of 32, d = max|x| / 127 and q = round(x · 127 / max|x|)
    /// to nearest even. A NaN or infinity in a block makes its scale non-finite, so the outputs it reaches are not
    /// finite either.
    /// </summary>
    // Fully optimized from the first call: every product of a generation's first steps calls it.
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    public static void Quantize(WeightType type, float* x, int m, int k, int i0, int i1, float* memory)
    {
        var input = new QuantizedInput(memory, m, k);
        int offset = type == WeightType.Q8 ? Int8Units.Offset : Int4Units.Offset;
        var magnitude = Vector256.Create(int.MaxValue);
        for (int i = i0; i < i1; i++)
            for (int b = 0; b < input.Blocks; b++)
            {
                float* v = x + (long)i * k + (long)b * Block;
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
    /// of row groups [g0, g1) of W (an array from <see cref="Interleave"/>; the rows below n).
    /// </summary>
    public static void Multiply(WeightType type, byte[] array, int k, float* memory, int m, float* y, int n, int g0, int g1)
    {
        var input = new QuantizedInput(memory, m, k);
        fixed (byte* start = array)
            switch (type)
            {
                case WeightType.Q8: Groups<Int8Units>(FirstGroup(start), input, y, n, g0, g1); break;
                case WeightType.Q4: Groups<Int4Units>(FirstGroup(start), input, y, n, g0, g1); break;
                default: throw new ArgumentOutOfRangeException(nameof(type), $"{type.Name()} has no integer layout");
            }
    }

    /// <summary>
    /// Few rows of x (a decoding step's) are taken two at a time through all of a group's blocks with their sums
    /// in registers; more rows, up to <see cref="TileRows"/> at a time per pass over the group's blocks, each block's
    /// weights loaded once for all of them and the sums kept in memory (a chain through memory per row, hidden when
    /// many rows are in flight, but not when two are).
    /// </summary>
    // Fully optimized from the first call: a generation's first steps must not run unoptimized kernels.
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    private static void Groups<TFormat>(byte* groups, in QuantizedInput x, float* y, int n, int g0, int g1)
        where TFormat : struct, IUnitFormat
    {
        int m = x.Rows, blocks = x.Blocks;
        float* sums = stackalloc float[GroupRows * TileRows];
        for (int g = g0; g < g1; g++)
        {
            byte* group = groups + (long)g * blocks * TFormat.UnitBytes;
            if (m <= RegisterRows)
            {
                for (int i = 0; i < m; i += 2)
                    if (i + 1 < m) RowPair<TFormat>(group, x, i, y + (long)i * n, n, g * GroupRows);
                    else SingleRow<TFormat>(group, x, i, y + (long)i * n, n, g * GroupRows);
                continue;
            }
            for (int i0 = 0; i0 < m; i0 += TileRows)
            {
                int rows = Math.Min(TileRows, m - i0);
                for (int i = 0; i < rows; i++) Vector256<float>.Zero.Store(sums + GroupRows * i);
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
                        float* sum = sums + GroupRows * i;
                        Fma.MultiplyAdd(Avx.ConvertToVector256Single(dot0), weightScales * Vector256.Create(scales[i]), Vector256.Load(sum)).Store(sum);
                        Fma.MultiplyAdd(Avx.ConvertToVector256Single(dot1), weightScales * Vector256.Create(scales[i + 1]), Vector256.Load(sum + GroupRows)).Store(sum + GroupRows);
                    }
                    if (i < rows)
                    {
                        var dot = BlockDot(starts[i], xq, w0, w1, w2, w3, w4, w5, w6, w7);
                        Fma.MultiplyAdd(Avx.ConvertToVector256Single(dot), weightScales * Vector256.Create(scales[i]), Vector256.Load(sums + GroupRows * i)).Store(sums + GroupRows * i);
                    }
                }
                Store(sums, rows, y + (long)i0 * n, n, g * GroupRows);
            }
        }
    }

    /// <summary>Up to this many rows of x go through a group two at a time with their sums in registers.</summary>
    private const int RegisterRows = 4;

    /// <summary>Rows i and i + 1 of x against one group, into y (row i) and y + n.</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static void RowPair<TFormat>(byte* unit, in QuantizedInput x, int i, float* y, int n, int first)
        where TFormat : struct, IUnitFormat
    {
        Vector256<float> sum0 = default, sum1 = default;
        // Pointers to the two rows' values, scales and starts, a block (all rows) apart from one block to the next.
        int m = x.Rows, blocks = x.Blocks;
        int* xq = (int*)x.Values(0, i);
        float* scales = x.Scales + i;
        int* starts = x.Starts + i;
        for (int b = 0; b < blocks; b++, unit += TFormat.UnitBytes, xq += m * (Block / 4), scales += m, starts += m)
        {
            TFormat.Load(unit, out var w0, out var w1, out var w2, out var w3, out var w4, out var w5, out var w6, out var w7);
            var weightScales = Vector256.Load((float*)(unit + TFormat.ValueBytes));
            BlockDots(starts[0], starts[1], xq, w0, w1, w2, w3, w4, w5, w6, w7, out var dot0, out var dot1);
            sum0 = Fma.MultiplyAdd(Avx.ConvertToVector256Single(dot0), weightScales * Vector256.Create(scales[0]), sum0);
            sum1 = Fma.MultiplyAdd(Avx.ConvertToVector256Single(dot1), weightScales * Vector256.Create(scales[1]), sum1);
        }
        Store(sum0, y, n, first);
        Store(sum1, y + n, n, first);
    }

    /// <summary>Row i of x against one group, into y.</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static void SingleRow<TFormat>(byte* unit, in QuantizedInput x, int i, float* y, int n, int first)
        where TFormat : struct, IUnitFormat
    {
        Vector256<float> sum = default;
        int m = x.Rows, blocks = x.Blocks;
        int* xq = (int*)x.Values(0, i);
        float* scales = x.Scales + i;
        int* starts = x.Starts + i;
        for (int b = 0; b < blocks; b++, unit += TFormat.UnitBytes, xq += m * (Block / 4), scales += m, starts += m)
        {
            TFormat.Load(unit, out var w0, out var w1, out var w2, out var w3, out var w4, out var w5, out var w6, out var w7);
            var dot = BlockDot(starts[0], xq, w0, w1, w2, w3, w4, w5, w6, w7);
            sum = Fma.MultiplyAdd(Avx.ConvertToVector256Single(dot), Vector256.Load((float*)(unit + TFormat.ValueBytes)) * Vector256.Create(scales[0]), sum);
        }
        Store(sum, y, n, first);
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
        if (first + GroupRows <= n) sums.Store(y + first);
        else
            for (int r = 0; first + r < n; r++) y[first + r] = sums.GetElement(r);
    }

    /// <summary>A tile's sums [rows, 8] to y[rows, first … first + 7].</summary>
    private static void Store(float* sums, int rows, float* y, int n, int first)
    {
        for (int i = 0; i < rows; i++) Store(Vector256.Load(sums + GroupRows * i), y + (long)i * n, n, first);
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
        /// <summary>Bytes of the values of a unit (the 8 scales follow them).</summary>
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
        public const int UnitBytes = 8 * 32 + 4 * GroupRows, Offset = 128;
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
        public const int UnitBytes = 4 * 32 + 4 * GroupRows, Offset = 8;
        static int IUnitFormat.ValueBytes => 4 * 32;
        static int IUnitFormat.UnitBytes => UnitBytes;
        static int IUnitFormat.SourceBlockBytes => Block / 2;
        static int IUnitFormat.Offset => Offset;
        static uint IUnitFormat.ZeroWord => 0x88888888;
        static uint IUnitFormat.StoredFlip => 0;

        /// <summary>The low nibbles of vector t are inputs 4t …, against x's group t; the high ones, 16 + 4t …, against group t + 4.</summary>
        [MethodImpl(MethodImplOptions.AggressiveInlining)]
        public static void Load(byte* unit, out Vector256<byte> w0, out Vector256<byte> w1, out Vector256<byte> w2, out Vector256<byte> w3,
            out Vector256<byte> w4, out Vector256<byte> w5, out Vector256<byte> w6, out Vector256<byte> w7)
        {
            var nibble = Vector256.Create((byte)15);
            var v0 = Vector256.Load(unit); var v1 = Vector256.Load(unit + 32); var v2 = Vector256.Load(unit + 64); var v3 = Vector256.Load(unit + 96);
            w0 = v0 & nibble; w1 = v1 & nibble; w2 = v2 & nibble; w3 = v3 & nibble;
            w4 = Avx2.ShiftRightLogical(v0.AsUInt16(), 4).AsByte() & nibble; w5 = Avx2.ShiftRightLogical(v1.AsUInt16(), 4).AsByte() & nibble;
            w6 = Avx2.ShiftRightLogical(v2.AsUInt16(), 4).AsByte() & nibble; w7 = Avx2.ShiftRightLogical(v3.AsUInt16(), 4).AsByte() & nibble;
        }
    }
}
