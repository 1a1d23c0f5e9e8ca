using MusicGen.Engine.Tensors;
using MusicGen.Loaders.Checkpoints;

namespace MusicGen.Engine.Backends.Cpu;

public sealed partial class CpuBackend
{
    /// <summary>
    /// The packed bytes are kept as they are, the kernels reading every type's layout directly, except q8 and q4
    /// beside integer dot products (<see cref="IntegerProducts"/>), which are laid out in <see cref="IntegerGemm"/>'s row groups.
    /// </summary>
    public override Tensor UploadPacked(PackedMatrix matrix)
    {
        var buffer = IntegerProducts && matrix.Type is WeightType.Q8 or WeightType.Q4
            ? new CpuPackedBuffer(IntegerGemm.Interleave(matrix, _weightArena), _ledger, IntegerGemm.ByteCount(matrix.Type, matrix.Rows, matrix.Columns))
            : new CpuPackedBuffer(matrix.Data, _ledger);
        return new(this, buffer, 0, [matrix.Rows, matrix.Columns], ownsBuffer: true, matrix.Type);
    }

    /// <summary>
    /// y[M, N] = x[M, K] · W[N, K]ᵀ for a packed W, split over the cores by groups of weight rows: row groups with
    /// integer dot products (<see cref="IntegerLinear"/>, which alone takes a <paramref name="norm"/>); otherwise
    /// skinny products decode the weights in registers (<see cref="PackedGemm"/>), wide ones (or a CPU without AVX2)
    /// decode 4 rows at a time into a float32 panel for <see cref="Gemm"/>. Each share's columns are finished by
    /// <paramref name="finish"/>.
    /// </summary>
    private static void PackedLinear(Tensor x, RowNorm? norm, Tensor weight, Tensor y, int m, int n, int k, ColumnEpilogue finish)
    {
        if (weight.Buffer is not CpuPackedBuffer packed)
            throw new ArgumentException($"{weight} does not live on the CPU backend");
        if (packed.RowGroups)
        {
            IntegerLinear(x, norm, packed.Groups, weight.ElementType, y, m, n, k, finish);
            return;
        }
        System.Diagnostics.Debug.Assert(norm is null, "only the integer products normalize their rows");
        var xs = Array(x, out int xo);
        var ys = Array(y, out int yo);
        var state = (xs, xo, ys, yo, w: packed.Data, type: weight.ElementType, m, n, k, finish);
        if (m <= PackedGemm.SkinnyMaxRows && PackedGemm.IsAccelerated)
        {
            CpuParallel.For((n + 3) / 4, 4L * m * k, state, static (in s, start, end) =>
            {
                unsafe
                {
                    fixed (float* x = &s.xs[s.xo], y = &s.ys[s.yo])
                    fixed (byte* w = s.w)
                    {
                        var scales = (float*)(w + PackedMatrix.ScalesAt(s.type, s.n, s.k));
                        PackedGemm.Skinny(s.type, x, s.m, s.k, w, scales, y, s.n, start * 4, Math.Min(s.n, end * 4));
                    }
                }
                s.finish.Apply(start * 4, Math.Min(s.n, end * 4));
            });
            return;
        }
        CpuParallel.For((n + 3) / 4, 4L * m * k, state, static (in s, start, end) =>
        {
            var panel = Scratch.Get(4 * s.k, ScratchSlot.DecodedWeights);
            for (int j0 = start * 4; j0 < Math.Min(s.n, end * 4); j0 += 4)
            {
                int rows = Math.Min(4, s.n - j0);
                DecodePanel(s.type, s.w, s.n, s.k, j0, rows, panel);
                Gemm.MultiplyTransposed(s.xs.AsSpan(s.xo), s.k, panel, s.k, s.ys.AsSpan(s.yo + j0), s.n, s.m, rows, s.k);
            }
            s.finish.Apply(start * 4, Math.Min(s.n, end * 4));
        });
    }

    /// <summary>
    /// <see cref="PackedLinear"/> with integer dot products: x is quantized once (rows split over the cores, each
    /// normalized first where there is a <paramref name="norm"/>), then every core multiplies its share of the row
    /// groups with it and finishes those columns. A decoding step's few rows are bound by reading the weights, which
    /// goes faster with each core streaming one contiguous share than several shorter ones (each start of a stream
    /// waits for memory before the prefetchers catch up); more rows are bound by instructions, and take smaller
    /// shares that even out the cores.
    /// </summary>
    private static void IntegerLinear(Tensor x, RowNorm? norm, PinnedBytes groups, WeightType type, Tensor y, int m, int n, int k, ColumnEpilogue finish)
    {
        var xs = Array(x, out int xo);
        var ys = Array(y, out int yo);
        var quantized = Scratch.Get(IntegerGemm.QuantizedFloats(m, k), ScratchSlot.QuantizedInput);
        var state = (xs, xo, ys, yo, quantized, groups, type, m, n, k, norm, finish);
        CpuParallel.For(m, norm is null ? k : 4L * k, state, static (in s, start, end) =>
        {
            var normed = s.norm is null ? null : Scratch.Get(s.k, ScratchSlot.Work);
            unsafe
            {
                fixed (float* x = &s.xs[s.xo], memory = s.quantized, row = normed)
                    for (int i = start; i < end; i++)
                    {
                        float* source = x + (long)i * s.k;
                        if (s.norm is { } norm)
                        {
                            norm.Apply(new ReadOnlySpan<float>(source, s.k), normed.AsSpan(0, s.k));
                            source = row;
                        }
                        IntegerGemm.QuantizeRow(s.type, source, i, s.m, s.k, memory);
                    }
            }
        });
        int groupRows = IntegerGemm.GroupRowsOf(type);
        CpuParallel.For((n + groupRows - 1) / groupRows, (long)groupRows * m * k, state, static (in s, start, end) =>
        {
            unsafe
            {
                fixed (float* memory = s.quantized, y = &s.ys[s.yo])
                    IntegerGemm.Multiply(s.type, s.groups, s.k, memory, s.m, y, s.n, start, end);
            }
            int groupRows = IntegerGemm.GroupRowsOf(s.type);
            s.finish.Apply(start * groupRows, Math.Min(s.n, end * groupRows));
        }, partsPerWorker: m <= IntegerGemm.RegisterRows ? 1 : 4);
    }

    private static unsafe void DecodePanel(WeightType type, byte[] w, int n, int k, int j0, int rows, float[] panel)
    {
        if (!PackedGemm.IsAccelerated)
        {
            for (int r = 0; r < rows; r++) PackedMatrix.DecodeRow(type, w, n, k, j0 + r, panel.AsSpan(r * k, k));
            return;
        }
        fixed (byte* weights = w)
        fixed (float* output = panel)
            PackedGemm.Decode(type, k, weights, (float*)(weights + PackedMatrix.ScalesAt(type, n, k)), j0, j0 + rows, output);
    }
}

/// <summary>
/// The bytes of a packed weight matrix on the CPU backend: in <see cref="PackedMatrix"/>'s layout, or (q8 and q4
/// beside integer dot products) in <see cref="IntegerGemm"/>'s row groups; counted as weights until disposed.
/// </summary>
public sealed class CpuPackedBuffer : IDeviceBuffer
{
    private MemoryLedger? _ledger;

    /// <summary>The bytes in <see cref="PackedMatrix"/>'s layout (none where the buffer holds row groups).</summary>
    public byte[] Data { get; }
    /// <summary>The row groups (<see cref="IntegerGemm.Interleave"/>), where <see cref="RowGroups"/>.</summary>
    internal PinnedBytes Groups { get; }
    /// <summary>The stored bytes: the whole array, or the row groups.</summary>
    public long Length { get; }
    /// <summary>Whether the buffer holds row groups instead of <see cref="PackedMatrix"/>'s layout.</summary>
    public bool RowGroups { get; }

    internal CpuPackedBuffer(byte[] data, MemoryLedger ledger) : this(data, default, ledger, data.LongLength, rowGroups: false) { }

    /// <summary>Row groups of <paramref name="bytes"/> bytes from <see cref="IntegerGemm.Interleave"/>.</summary>
    internal CpuPackedBuffer(PinnedBytes groups, MemoryLedger ledger, long bytes) : this([], groups, ledger, bytes, rowGroups: true) { }

    private CpuPackedBuffer(byte[] data, PinnedBytes groups, MemoryLedger ledger, long bytes, bool rowGroups)
    {
        Data = data;
        Groups = groups;
        Length = bytes;
        RowGroups = rowGroups;
        _ledger = ledger;
        ledger.Add(MemoryUse.Weights, bytes);
    }

    public void Dispose() => Interlocked.Exchange(ref _ledger, null)?.Add(MemoryUse.Weights, -Length);
}
