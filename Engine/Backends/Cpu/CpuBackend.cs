using System.Numerics;
using System.Runtime.InteropServices;
using System.Runtime.CompilerServices;
using System.Runtime.Intrinsics;
using System.Runtime.Intrinsics.X86;
using TensorPrimitives = System.Numerics.Tensors.TensorPrimitives;
using MusicGen.Engine.Tensors;
using MusicGen.Loaders;
using MusicGen.Loaders.Checkpoints;

namespace MusicGen.Engine.Backends.Cpu;

/// <summary>
/// The managed CPU backend: tensors in managed arrays, SIMD inner loops (System.Numerics vectors and
/// TensorPrimitives), work split across every core. The heavier operations live in partial files by kind.
/// </summary>
public sealed partial class CpuBackend : CheckedBackend
{
    /// <summary>
    /// A CPU backend; <paramref name="integerProducts"/>: multiply q8 and q4 weights with 8-bit integer dot products
    /// where the CPU has them (<see cref="IntegerProducts"/>), else with float32 fused multiply-adds.
    /// </summary>
    public CpuBackend(bool integerProducts = true)
    {
        IntegerProducts = integerProducts && IntegerGemm.IsSupported;
        Capabilities = new(OnHost: true, IntegerProducts, MaxHeadDimension: int.MaxValue, MaxElements: System.Array.MaxLength);
    }

    /// <summary>
    /// Whether q8 and q4 weights are multiplied with 8-bit integer dot products (AVX-VNNI), against activations
    /// rounded to 8 bits per block of 32 (<see cref="IntegerGemm"/>), instead of float32 ones.
    /// </summary>
    public bool IntegerProducts { get; }

    public override string Name => $"cpu ({CpuParallel.Workers} threads, {System.Numerics.Vector<float>.Count * 32}-bit vectors{(IntegerProducts ? ", 8-bit dot products" : "")})";

    private readonly BufferPool _pool = new();
    private readonly MemoryLedger _ledger = new();
    private readonly PinnedArena _weightArena = new();

    /// <summary>The managed and native memory the backend's tensors hold; its scratch: the pool's idle arrays and the epilogues' products.</summary>
    public override DeviceMemory Memory => _ledger.Current is var held ? held with { Scratch = held.Scratch + _pool.RetainedBytes } : default;

    /// <summary>Always zero: the operations run on the host, with no launches and nothing to wait for.</summary>
    public override BackendCounters Counters => default;

    /// <summary>No head dimension the host cannot accumulate; a tensor is one managed array.</summary>
    public override BackendCapabilities Capabilities { get; }

    protected override Tensor AllocateCore(int[] shape) => Rented(shape, clear: true);

    protected override Tensor AllocateUninitializedCore(int[] shape) => Rented(shape, clear: false);

    private Tensor Rented(int[] shape, bool clear) =>
        new(this, new CpuBuffer(_pool.Rent(checked((int)ShapeText.ElementCount(shape)), clear), _ledger, MemoryUse.Tensors, _pool), 0, shape, ownsBuffer: true);

    protected override Tensor AllocateCacheCore(WeightType type, int[] shape)
    {
        return type == WeightType.F32
            ? Allocate(shape)
            : new(this, new CpuCacheBuffer(type, ShapeText.ElementCount(shape), _ledger), 0, shape, ownsBuffer: true, type);
    }

    protected override Tensor UploadCore(ReadOnlySpan<float> data, int[] shape) =>
        new(this, new CpuBuffer(data.ToArray(), _ledger, MemoryUse.Tensors), 0, shape, ownsBuffer: true);

    protected override Tensor AdoptCore(float[] data, int[] shape) =>
        new(this, new CpuBuffer(data, _ledger, MemoryUse.Weights), 0, shape, ownsBuffer: true);

    protected override void UploadCore(ReadOnlySpan<float> data, Tensor destination) => data.CopyTo(Span(destination));

    protected override void DownloadCore(Tensor source, Span<float> destination) => Span(source).CopyTo(destination);

    /// <summary>The elements of a tensor of this backend.</summary>
    public static Span<float> Span(Tensor tensor)
    {
        if (tensor.Buffer is not CpuBuffer buffer || tensor.ElementType != WeightType.F32)
            throw new ArgumentException($"{tensor} is not a float32 tensor of the CPU backend");
        return buffer.Data.AsSpan(checked((int)tensor.Offset), checked((int)tensor.Length));
    }

    /// <summary>The storage of a float16 or q8 cache of this backend (<see cref="IBackend.AllocateCache"/>).</summary>
    private static CpuCacheBuffer CacheBuffer(Tensor tensor) =>
        tensor.Buffer as CpuCacheBuffer ?? throw new ArgumentException($"{tensor} is not a key/value cache of the CPU backend");

    private static float[] Array(Tensor tensor, out int offset)
    {
        offset = checked((int)tensor.Offset);
        return ((CpuBuffer)tensor.Buffer).Data;
    }

    /// <summary>
    /// The product, its epilogue applied by each core to the columns it computed while they are in its cache: an
    /// activation in place; a residual added, or planes copied, from the product in an intermediate.
    /// </summary>
    protected override void LinearCore(Tensor x, Tensor weight, Tensor? bias, Tensor y, LinearEpilogue epilogue) =>
        Linear(x, norm: null, weight, bias, y, epilogue);

    /// <summary>
    /// A product whose x rows are normalized first (<paramref name="norm"/>), which only the integer products take:
    /// they normalize each row as they quantize it.
    /// </summary>
    private void Linear(Tensor x, RowNorm? norm, Tensor weight, Tensor? bias, Tensor y, LinearEpilogue epilogue)
    {
        if (y.Length == 0) return;
        bool apart = epilogue.Accumulates || epilogue.PlaneWidth > 0;
        var product = apart ? TakeIntermediate(checked((int)y.Length)) : y;
        try
        {
            int n = weight.Dim(0);
            var finish = new ColumnEpilogue(Array(product, out int po), po, Array(y, out int yo), yo, bias is null ? null : Array(bias, out _),
                bias is null ? 0 : checked((int)bias.Offset), checked((int)(y.Length / n)), n, epilogue);
            Product(x, norm, weight, product, finish);
        }
        finally
        {
            if (apart) GiveBack(product);
        }
    }

    /// <summary>
    /// What a product's parallel body does with the columns [c0, c1) of every row it has computed: the bias added,
    /// then the epilogue (<see cref="LinearEpilogue"/>), each element as the separate operations would compute it.
    /// </summary>
    private readonly record struct ColumnEpilogue(float[] Product, int ProductOffset, float[] Y, int YOffset, float[]? Bias, int BiasOffset,
        int Rows, int Columns, LinearEpilogue Epilogue)
    {
        public void Apply(int c0, int c1)
        {
            if (c1 <= c0) return;
            int width = c1 - c0, planeWidth = Epilogue.PlaneWidth;
            for (int r = 0; r < Rows; r++)
            {
                var product = Product.AsSpan(ProductOffset + r * Columns + c0, width);
                if (Bias is not null) TensorPrimitives.Add(product, Bias.AsSpan(BiasOffset + c0, width), product);
                if (Epilogue.Accumulates)
                {
                    var y = Y.AsSpan(YOffset + r * Columns + c0, width);
                    TensorPrimitives.Add(y, product, y);
                }
                else if (planeWidth > 0)
                    // y [N / W, M, W]: column c of row r is element c % W of row r in plane c / W.
                    for (int c = c0; c < c1;)
                    {
                        int plane = c / planeWidth, end = Math.Min(c1, (plane + 1) * planeWidth);
                        product.Slice(c - c0, end - c).CopyTo(Y.AsSpan(YOffset + (plane * Rows + r) * planeWidth + c - plane * planeWidth, end - c));
                        c = end;
                    }
                else if (Epilogue.Activation is { } kind) Activate(kind, product, product);
            }
        }
    }

    /// <summary>A LayerNorm's parameters, applied to a product's rows by the integer products as they quantize them.</summary>
    private readonly record struct RowNorm(float[] Weight, int WeightOffset, float[]? Bias, int BiasOffset, float Eps)
    {
        public RowNorm(Tensor weight, Tensor? bias, float eps)
            : this(Array(weight, out int wo), wo, bias is null ? null : Array(bias, out _), bias is null ? 0 : checked((int)bias.Offset), eps) { }

        public void Apply(ReadOnlySpan<float> row, Span<float> output) =>
            LayerNormRow(row, Weight.AsSpan(WeightOffset, row.Length), Bias is null ? default : Bias.AsSpan(BiasOffset, row.Length), Eps, output);
    }

    /// <summary>
    /// Intermediates of composed operations (an epilogue's product, a prologue's normed rows), kept for the next call
    /// of the same length: a decoding step makes a few per layer, each too small for the pool, so fresh ones would be
    /// garbage every step. Lengths the pool takes go to it; of the small ones the most recent few are kept.
    /// </summary>
    private readonly List<Tensor> _intermediates = [];

    private const int KeptIntermediates = 16;

    private Tensor TakeIntermediate(int length)
    {
        if (length >= BufferPool.MinimumLength) return AllocateUninitialized(length);
        lock (_intermediates)
        {
            for (int i = _intermediates.Count - 1; i >= 0; i--)
            {
                if (_intermediates[i].Length != length) continue;
                var kept = _intermediates[i];
                _intermediates.RemoveAt(i);
                return kept;
            }
        }
        return new(this, new CpuBuffer(HugePages.NewArray<float>(length), _ledger, MemoryUse.Scratch), 0, [length], ownsBuffer: true);
    }

    private void GiveBack(Tensor intermediate)
    {
        if (intermediate.Length >= BufferPool.MinimumLength)
        {
            intermediate.Dispose();
            return;
        }
        lock (_intermediates)
        {
            _intermediates.Add(intermediate);
            if (_intermediates.Count <= KeptIntermediates) return;
            _intermediates[0].Dispose();
            _intermediates.RemoveAt(0);
        }
    }

    /// <summary>
    /// The norm into an intermediate, then the product: the composition the GPU kernels are tested against; the
    /// integer products normalize each row as they quantize it, with the same arithmetic.
    /// </summary>
    protected override void LayerNormLinearCore(Tensor x, Tensor normWeight, Tensor? normBias, float eps, Tensor weight, Tensor? bias, Tensor y,
        LinearEpilogue epilogue)
    {
        if (weight.Buffer is CpuPackedBuffer { RowGroups: true })
        {
            Linear(x, new RowNorm(normWeight, normBias, eps), weight, bias, y, epilogue);
            return;
        }
        var normed = TakeIntermediate(checked((int)x.Length));
        try
        {
            LayerNorm(x, normWeight, normBias, normed, eps);
            LinearCore(normed, weight, bias, y, epilogue);
        }
        finally
        {
            GiveBack(normed);
        }
    }

    /// <summary>Each row guided and picked by <see cref="SamplingRule"/>'s definition, on the host.</summary>
    protected override void SampleCodesCore(Tensor logits, int vocabulary, SamplingRule rule, ReadOnlySpan<float> uniforms, Span<int> codes)
    {
        // The rows are independent: spread over the cores, through arrays the workers can hold.
        int rows = codes.Length;
        var picked = System.Buffers.ArrayPool<int>.Shared.Rent(rows);
        var drawn = System.Buffers.ArrayPool<float>.Shared.Rent(rows);
        uniforms.CopyTo(drawn);
        var ls = Array(logits, out int lo);
        CpuParallel.For(rows, 64L * vocabulary, (ls, lo, vocabulary, rule, rows, uniforms: drawn, codes: picked),
            static (in s, start, end) =>
            {
                var scores = System.Buffers.ArrayPool<float>.Shared.Rent(s.vocabulary);
                var order = System.Buffers.ArrayPool<long>.Shared.Rent(s.vocabulary);
                var all = s.ls.AsSpan(s.lo, (s.rule.Guided ? 2 : 1) * s.rows * s.vocabulary);
                for (int r = start; r < end; r++)
                {
                    s.rule.Guide(all, s.rows, r, scores.AsSpan(0, s.vocabulary));
                    s.codes[r] = s.rule.Pick(scores.AsSpan(0, s.vocabulary), s.rule.Greedy ? 0f : s.uniforms[r], order);
                }
                System.Buffers.ArrayPool<long>.Shared.Return(order);
                System.Buffers.ArrayPool<float>.Shared.Return(scores);
            });
        picked.AsSpan(0, rows).CopyTo(codes);
        System.Buffers.ArrayPool<float>.Shared.Return(drawn);
        System.Buffers.ArrayPool<int>.Shared.Return(picked);
    }

    /// <summary>The append's copies, then attention: the composition the GPU kernels are tested against.</summary>
    protected override void AppendAndAttendCore(Tensor q, Tensor keys, Tensor values, Tensor keyCache, Tensor valueCache, Tensor output,
        AttentionOptions options)
    {
        AppendInSteps(q, keys, values, keyCache, valueCache, options);
        Attention(q, keyCache, valueCache, output, options);
    }

    /// <summary>y[M, N] = x[M, K] · W[N, K]ᵀ into <paramref name="y"/> (the product's tensor), split over the cores by columns, each share finished by <paramref name="finish"/>.</summary>
    private static void Product(Tensor x, RowNorm? norm, Tensor weight, Tensor y, ColumnEpilogue finish)
    {
        int n = weight.Dim(0), k = weight.Dim(1);
        int m = checked((int)(x.Length / k));
        if (weight.ElementType != WeightType.F32)
        {
            PackedLinear(x, norm, weight, y, m, n, k, finish);
            return;
        }
        System.Diagnostics.Debug.Assert(norm is null, "only the integer products normalize their rows");
        var xs = Array(x, out int xo);
        var ws = Array(weight, out int wo);
        var ys = Array(y, out int yo);
        CpuParallel.For((n + 3) / 4, 4L * m * k, (xs, xo, ws, wo, ys, yo, m, n, k, finish), static (in s, start, end) =>
        {
            int j0 = start * 4, j1 = Math.Min(s.n, end * 4);
            Gemm.MultiplyTransposed(s.xs.AsSpan(s.xo), s.k, s.ws.AsSpan(s.wo + j0 * s.k), s.k, s.ys.AsSpan(s.yo + j0), s.n, s.m, j1 - j0, s.k);
            s.finish.Apply(j0, j1);
        });
    }

    protected override void LayerNormCore(Tensor x, Tensor weight, Tensor? bias, Tensor y, float eps)
    {
        int d = weight.Dim(-1);
        var xs = Array(x, out int xo);
        var ys = Array(y, out int yo);
        var ws = Array(weight, out int wo);
        var bs = bias is null ? null : Array(bias, out _);
        int bo = bias is null ? 0 : checked((int)bias.Offset);
        CpuParallel.For((int)(x.Length / d), 4L * d, (xs, xo, ys, yo, ws, wo, bs, bo, d, eps), static (in s, start, end) =>
        {
            var w = s.ws.AsSpan(s.wo, s.d);
            var b = s.bs is null ? Span<float>.Empty : s.bs.AsSpan(s.bo, s.d);
            for (int r = start; r < end; r++)
                LayerNormRow(s.xs.AsSpan(s.xo + r * s.d, s.d), w, b, s.eps, s.ys.AsSpan(s.yo + r * s.d, s.d));
        });
    }

    /// <summary>
    /// One row's LayerNorm, output = (row − mean) / √(variance + eps) · w + b, in vectors; output may be row. The
    /// one definition for <see cref="LayerNormCore"/> and the products that normalize as they quantize.
    /// </summary>
    private static void LayerNormRow(ReadOnlySpan<float> row, ReadOnlySpan<float> w, ReadOnlySpan<float> b, float eps, Span<float> output)
    {
        float mean = TensorPrimitives.Sum(row) / row.Length;
        TensorPrimitives.Subtract(row, mean, output);
        float inverse = 1f / MathF.Sqrt((float)SumOfSquaresInDouble(output) / row.Length + eps);
        TensorPrimitives.Multiply(output, inverse, output);
        if (b.IsEmpty) TensorPrimitives.Multiply(output, w, output);
        else TensorPrimitives.MultiplyAdd(output, w, b, output);
    }

    private static double SumOfSquaresInDouble(ReadOnlySpan<float> x)
    {
        var sums = Vector<double>.Zero;
        int i = 0;
        for (; i <= x.Length - Vector<float>.Count; i += Vector<float>.Count)
        {
            Vector.Widen(new Vector<float>(x[i..]), out var low, out var high);
            sums += low * low + high * high;
        }
        double sum = Vector.Sum(sums);
        for (; i < x.Length; i++) sum += (double)x[i] * x[i];
        return sum;
    }

    protected override void RmsNormCore(Tensor x, Tensor weight, Tensor y, float eps)
    {
        int d = weight.Dim(-1);
        var xs = Array(x, out int xo);
        var ys = Array(y, out int yo);
        var ws = Array(weight, out int wo);
        CpuParallel.For((int)(x.Length / d), 3L * d, (xs, xo, ys, yo, ws, wo, d, eps), static (in s, start, end) =>
        {
            var w = s.ws.AsSpan(s.wo, s.d);
            for (int r = start; r < end; r++)
            {
                var row = s.xs.AsSpan(s.xo + r * s.d, s.d);
                var output = s.ys.AsSpan(s.yo + r * s.d, s.d);
                float inverse = 1f / MathF.Sqrt(TensorPrimitives.SumOfSquares(row) / s.d + s.eps);
                TensorPrimitives.Multiply(row, inverse, output);
                TensorPrimitives.Multiply(output, w, output);
            }
        });
    }

    protected override void SoftmaxCore(Tensor x, Tensor y)
    {
        int d = x.Dim(-1);
        var xs = Array(x, out int xo);
        var ys = Array(y, out int yo);
        CpuParallel.For(d == 0 ? 0 : (int)(x.Length / d), 4L * d, (xs, xo, ys, yo, d), static (in s, start, end) =>
        {
            for (int r = start; r < end; r++) SoftmaxInPlace(s.xs.AsSpan(s.xo + r * s.d, s.d), s.ys.AsSpan(s.yo + r * s.d, s.d));
        });
    }

    /// <summary>Numerically safe softmax: shifted by the row maximum.</summary>
    internal static void SoftmaxInPlace(ReadOnlySpan<float> x, Span<float> y)
    {
        float max = TensorPrimitives.Max(x);
        TensorPrimitives.Multiply(y, 1 / ExpAndSum(x, max, y), y);
    }

    /// <summary>
    /// y = exp(x − max), returning Σ y: the exponentials summed as they are made, so that a softmax reads its row
    /// three times, not five (attention's rows are as long as the cache).
    /// </summary>
    private static float ExpAndSum(ReadOnlySpan<float> x, float max, Span<float> y)
    {
        int p = 0;
        ref float xr = ref MemoryMarshal.GetReference(x);
        ref float yr = ref MemoryMarshal.GetReference(y);
        var largest = Vector512.Create(max);
        var sums = Vector512<float>.Zero;
        for (; p <= x.Length - Vector512<float>.Count; p += Vector512<float>.Count)
        {
            var e = Vector512.Exp(Vector512.LoadUnsafe(ref xr, (nuint)p) - largest);
            e.StoreUnsafe(ref yr, (nuint)p);
            sums += e;
        }
        float sum = Vector512.Sum(sums);
        for (; p < x.Length; p++) sum += y[p] = MathF.Exp(x[p] - max);
        return sum;
    }

    protected override void ActivationCore(Tensor x, Tensor y, ActivationKind kind)
    {
        var xs = Array(x, out int xo);
        var ys = Array(y, out int yo);
        CpuParallel.For(checked((int)x.Length), 16, (xs, xo, ys, yo, kind), static (in s, start, end) =>
            Activate(s.kind, s.xs.AsSpan(s.xo + start, end - start), s.ys.AsSpan(s.yo + start, end - start)));
    }

    private static void Activate(ActivationKind kind, ReadOnlySpan<float> input, Span<float> output)
    {
        switch (kind)
        {
            case ActivationKind.Relu:
                TensorPrimitives.Max(input, 0f, output);
                break;
            case ActivationKind.Elu:
                CpuActivations.MapWide<EluActivation>(input, output);
                break;
            case ActivationKind.Gelu:
                CpuActivations.MapWide<GeluActivation>(input, output);
                break;
            case ActivationKind.GeluTanh:
                CpuActivations.Map<GeluTanhActivation>(input, output);
                break;
            default:
                throw new ArgumentOutOfRangeException(nameof(kind));
        }
    }

    protected override void AddCore(Tensor a, Tensor b, Tensor y)
    {
        TensorPrimitives.Add(Span(a), Span(b), Span(y));
    }

    protected override void MultiplyCore(Tensor a, Tensor b, Tensor y)
    {
        TensorPrimitives.Multiply(Span(a), Span(b), Span(y));
    }

    protected override void ScaleRowsCore(Tensor x, ReadOnlySpan<float> scales, Tensor y)
    {
        int d = x.Dim(-1);
        var xs = Span(x);
        var ys = Span(y);
        for (int r = 0; r < scales.Length; r++) TensorPrimitives.Multiply(xs.Slice(r * d, d), scales[r], ys.Slice(r * d, d));
    }

    protected override void GatherCore(Tensor table, ReadOnlySpan<int> ids, Tensor y, float scale, bool accumulate)
    {
        int d = table.Dim(-1);
        if (d == 0 || y.Length == 0) return;
        int rows = checked((int)(y.Length / d)), each = ids.Length / rows;
        var t = Span(table);
        var ys = Span(y);
        for (int n = 0; n < rows; n++)
        {
            var output = ys.Slice(n * d, d);
            for (int s = 0; s < each; s++)
            {
                var row = t.Slice(ids[n * each + s] * d, d);
                if (accumulate || s > 0) TensorPrimitives.MultiplyAdd(row, scale, output, output);
                else TensorPrimitives.Multiply(row, scale, output);
            }
        }
    }

    protected override void CopyBlocksCore(Tensor source, long sourceOffset, long sourceStride, Tensor destination, long destinationOffset,
        long destinationStride, int blockLength, int blockCount)
    {
        var s = Span(source);
        if (destination.ElementType != WeightType.F32)
        {
            // A cache is never a view: its elements start at its buffer's first.
            var cache = CacheBuffer(destination);
            for (int i = 0; i < blockCount; i++)
                cache.Write(s.Slice(checked((int)(sourceOffset + i * sourceStride)), blockLength), destinationOffset + i * destinationStride);
            return;
        }
        var d = Span(destination);
        for (int i = 0; i < blockCount; i++)
            s.Slice(checked((int)(sourceOffset + i * sourceStride)), blockLength)
                .CopyTo(d.Slice(checked((int)(destinationOffset + i * destinationStride)), blockLength));
    }

    /// <summary>
    /// y[B, N, M] = x[B, M, N]ᵀ in tiles of 32 × 32, each as 8 × 8 blocks transposed in AVX registers (the LSTM
    /// transposes its input projections, which element by element took several times as long).
    /// </summary>
    protected override void TransposeCore(Tensor x, Tensor y)
    {
        int m = x.Dim(-2), n = x.Dim(-1);
        int batch = checked((int)(x.Length / Math.Max(1L, (long)m * n)));
        var xs = Array(x, out int xo);
        var ys = Array(y, out int yo);
        const int tile = 32;
        int rowTiles = (m + tile - 1) / tile;
        CpuParallel.For(batch * rowTiles, (long)tile * n, (xs, xo, ys, yo, m, n, rowTiles), static (in s, start, end) =>
        {
            for (int item = start; item < end; item++)
            {
                int b = item / s.rowTiles, i0 = item % s.rowTiles * tile, i1 = Math.Min(s.m, i0 + tile);
                int xb = s.xo + b * s.m * s.n, yb = s.yo + b * s.m * s.n;
                for (int j0 = 0; j0 < s.n; j0 += tile)
                    TransposeTile(s.xs.AsSpan(xb, s.m * s.n), s.ys.AsSpan(yb, s.m * s.n), s.m, s.n, i0, i1, j0, Math.Min(s.n, j0 + tile));
            }
        });
    }

    /// <summary>y[j, i] = x[i, j] for rows [i0, i1) and columns [j0, j1) of x[m, n].</summary>
    private static void TransposeTile(ReadOnlySpan<float> x, Span<float> y, int m, int n, int i0, int i1, int j0, int j1)
    {
        int i = i0;
        if (Avx.IsSupported)
            for (; i + 8 <= i1; i += 8)
            {
                int j = j0;
                for (; j + 8 <= j1; j += 8) Transpose8x8(ref Unsafe.AsRef(in x[i * n + j]), n, ref y[j * m + i], m);
                for (; j < j1; j++)
                    for (int r = i; r < i + 8; r++) y[j * m + r] = x[r * n + j];
            }
        for (; i < i1; i++)
            for (int j = j0; j < j1; j++) y[j * m + i] = x[i * n + j];
    }

    /// <summary>An 8 × 8 block: rows of x (xStride apart) to columns of y (rows yStride apart), 24 shuffles.</summary>
    private static void Transpose8x8(ref float x, int xStride, ref float y, int yStride)
    {
        Vector256<float> Row(ref float x, int r) => Vector256.LoadUnsafe(ref x, (nuint)(r * xStride));
        var t0 = Avx.UnpackLow(Row(ref x, 0), Row(ref x, 1)); var t1 = Avx.UnpackHigh(Row(ref x, 0), Row(ref x, 1));
        var t2 = Avx.UnpackLow(Row(ref x, 2), Row(ref x, 3)); var t3 = Avx.UnpackHigh(Row(ref x, 2), Row(ref x, 3));
        var t4 = Avx.UnpackLow(Row(ref x, 4), Row(ref x, 5)); var t5 = Avx.UnpackHigh(Row(ref x, 4), Row(ref x, 5));
        var t6 = Avx.UnpackLow(Row(ref x, 6), Row(ref x, 7)); var t7 = Avx.UnpackHigh(Row(ref x, 6), Row(ref x, 7));
        var u0 = Avx.Shuffle(t0, t2, 0x44); var u1 = Avx.Shuffle(t0, t2, 0xEE);
        var u2 = Avx.Shuffle(t1, t3, 0x44); var u3 = Avx.Shuffle(t1, t3, 0xEE);
        var u4 = Avx.Shuffle(t4, t6, 0x44); var u5 = Avx.Shuffle(t4, t6, 0xEE);
        var u6 = Avx.Shuffle(t5, t7, 0x44); var u7 = Avx.Shuffle(t5, t7, 0xEE);
        Avx.Permute2x128(u0, u4, 0x20).StoreUnsafe(ref y, 0);
        Avx.Permute2x128(u1, u5, 0x20).StoreUnsafe(ref y, (nuint)yStride);
        Avx.Permute2x128(u2, u6, 0x20).StoreUnsafe(ref y, (nuint)(2 * yStride));
        Avx.Permute2x128(u3, u7, 0x20).StoreUnsafe(ref y, (nuint)(3 * yStride));
        Avx.Permute2x128(u0, u4, 0x31).StoreUnsafe(ref y, (nuint)(4 * yStride));
        Avx.Permute2x128(u1, u5, 0x31).StoreUnsafe(ref y, (nuint)(5 * yStride));
        Avx.Permute2x128(u2, u6, 0x31).StoreUnsafe(ref y, (nuint)(6 * yStride));
        Avx.Permute2x128(u3, u7, 0x31).StoreUnsafe(ref y, (nuint)(7 * yStride));
    }

    public override void Dispose()
    {
        lock (_intermediates)
        {
            foreach (var intermediate in _intermediates) intermediate.Dispose();
            _intermediates.Clear();
        }
        _pool.Clear();
    }
}
