using System.Runtime.CompilerServices;
using System.Numerics;
using System.Runtime.InteropServices;
using MusicGen.Engine.Tensors;
using MusicGen.Loaders.Checkpoints;
using TensorPrimitives = System.Numerics.Tensors.TensorPrimitives;

namespace MusicGen.Engine.Backends.Cpu;

public sealed partial class CpuBackend
{
    /// <summary>One attention call's arrays, offsets and sizes, handed to the worker threads; K and V are the
    /// float32 cache's arrays, or null beside a float16 or q8 cache's buffers.</summary>
    private readonly record struct AttentionJob(
        float[] Q, int QOffset, float[]? K, int KOffset, float[]? V, int VOffset, float[] Output, int OutputOffset,
        float[]? Bias, int BiasOffset, float[]? Mask, int MaskOffset, CpuCacheBuffer? CachedKeys, CpuCacheBuffer? CachedValues,
        int Heads, int Queries, int Keys, int KeyRows, int Width, int HeadDim, float Scale, bool Causal, int QueryOffset);

    protected override void AttentionCore(Tensor q, Tensor k, Tensor v, Tensor output, AttentionOptions options)
    {
        int batch = q.Dim(0), queries = q.Dim(1), width = q.Dim(2);
        int keyRows = k.Dim(1), keys = options.KeyLength, heads = options.Heads;

        bool cached = k.ElementType != WeightType.F32;
        var job = new AttentionJob(
            Array(q, out int qo), qo, cached ? null : Array(k, out _), checked((int)k.Offset), cached ? null : Array(v, out _), checked((int)v.Offset),
            Array(output, out int oo), oo,
            options.PositionBias is null ? null : Array(options.PositionBias, out _), options.PositionBias is null ? 0 : checked((int)options.PositionBias.Offset),
            options.KeyMask is null ? null : Array(options.KeyMask, out _), options.KeyMask is null ? 0 : checked((int)options.KeyMask.Offset),
            cached ? CacheBuffer(k) : null, cached ? CacheBuffer(v) : null, heads, queries, keys, keyRows, width, width / heads, options.Scale, options.Causal, options.QueryOffset);
        // Each work item takes as many heads as leaves every core an item: their slices of a key or value row
        // are one contiguous run (all of it in a decoding step with guidance), so a long cache streams through
        // memory row by row, measured a third faster at 1500 positions than a strided column per head.
        int rows = batch * queries, groups = Math.Clamp((CpuParallel.Workers + rows - 1) / rows, 1, heads);
        int group = (heads + groups - 1) / groups;
        groups = (heads + group - 1) / group;
        CpuParallel.For(rows * groups, 2L * group * keys * job.HeadDim, (job, groups, group), static (in s, start, end) =>
        {
            var scores = Scratch.Get(s.group * s.job.Keys);
            for (int item = start; item < end; item++)
            {
                int b = item / (s.groups * s.job.Queries), h0 = item / s.job.Queries % s.groups * s.group;
                AttendGroup(s.job, b, h0, Math.Min(s.group, s.job.Heads - h0), item % s.job.Queries, scores);
            }
        });
    }

    /// <summary>
    /// How far ahead a float16 or q8 cache's rows are fetched into L2: converting them in registers leaves the loop too
    /// busy for the hardware prefetcher alone to keep up (README, Speed, has the figures).
    /// </summary>
    private const int PrefetchRows = 8;

    /// <summary>
    /// One query row of heads [h0, h0 + count): scores, masking as the reference masks, softmax, weighted values.
    /// The values are summed key by key as v · w + sum, as a per-head loop would (over a float16
    /// or q8 cache, fused: v · w + sum in one rounding). A cache's row is read by one call for all the heads: a call
    /// per head and key had cost as much as the reading at 1500 positions. A q8 cache with heads of
    /// <see cref="Int8Cache.TileHeadDim"/> is read <see cref="Int8Cache.Tile"/> rows at a time, each head's sums
    /// kept in registers across them (the rows after the last whole tile as any other cache's).
    /// </summary>
    private static void AttendGroup(in AttentionJob s, int b, int h0, int count, int i, float[] scores)
    {
        int dh = s.HeadDim;
        int visible = s.Causal ? Math.Min(s.Keys, s.QueryOffset + i + 1) : s.Keys;
        int queryRow = s.QOffset + (b * s.Queries + i) * s.Width + h0 * dh;
        Span<float> perHead = count <= 256 ? stackalloc float[count] : new float[count];
        int tiledKeys = TiledRows(s.CachedKeys, s.KOffset, dh, visible, keys: true);
        if (tiledKeys > 0) TileScores(s, b, h0, count, queryRow, tiledKeys, visible, scores);
        for (int j = 0; j < visible; j++)
        {
            int keyRow = s.KOffset + (b * s.KeyRows + j) * s.Width + h0 * dh;
            bool masked = s.Mask is not null && s.Mask[s.MaskOffset + b * s.Keys + j] == 0f;
            if (j < tiledKeys)
            {
                if (!masked && s.Bias is null) continue;
                for (int g = 0; g < count; g++)
                    scores[g * visible + j] = masked ? float.MinValue : scores[g * visible + j] + s.Bias![s.BiasOffset + ((h0 + g) * s.Queries + i) * s.Keys + j];
                continue;
            }
            if (s.CachedKeys is null)
                for (int g = 0; g < count; g++) perHead[g] = Gemm.Dot(ref s.Q[queryRow + g * dh], ref s.K![keyRow + g * dh], dh);
            else
            {
                s.CachedKeys.Prefetch(keyRow + PrefetchRows * s.Width, count * dh);
                s.CachedKeys.Dots(s.Q.AsSpan(queryRow, count * dh), keyRow, perHead);
            }
            for (int g = 0; g < count; g++)
            {
                float score = s.Scale * perHead[g];
                if (s.Bias is not null) score += s.Bias[s.BiasOffset + ((h0 + g) * s.Queries + i) * s.Keys + j];
                scores[g * visible + j] = masked ? float.MinValue : score;
            }
        }
        for (int g = 0; g < count; g++) SoftmaxInPlace(scores.AsSpan(g * visible, visible), scores.AsSpan(g * visible, visible));
        var result = s.Output.AsSpan(s.OutputOffset + (b * s.Queries + i) * s.Width + h0 * dh, count * dh);
        result.Clear();
        int tiledValues = TiledRows(s.CachedValues, s.VOffset, dh, visible, keys: false);
        for (int j = 0; j < tiledValues; j += Int8Cache.Tile)
        {
            int valueRow = s.VOffset + (b * s.KeyRows + j) * s.Width + h0 * dh;
            s.CachedValues!.TileAddScaled(valueRow, s.Width, scores.AsSpan(j), visible, result);
        }
        for (int j = tiledValues; j < visible; j++)
        {
            int valueRow = s.VOffset + (b * s.KeyRows + j) * s.Width + h0 * dh;
            if (s.CachedValues is null)
            {
                var values = s.V.AsSpan(valueRow, count * dh);
                for (int g = 0; g < count; g++) AddScaled(values.Slice(g * dh, dh), scores[g * visible + j], result.Slice(g * dh, dh));
                continue;
            }
            for (int g = 0; g < count; g++) perHead[g] = scores[g * visible + j];
            s.CachedValues.Prefetch(valueRow + PrefetchRows * s.Width, count * dh);
            s.CachedValues.AddScaled(valueRow, perHead, result);
        }
    }

    /// <summary>How many of the first <paramref name="visible"/> rows of a cache attention reads in whole tiles (0: none).</summary>
    private static int TiledRows(CpuCacheBuffer? cache, int offset, int dh, int visible, bool keys) =>
        cache is not null && cache.TakesTiles(dh, keys) && offset % PackedMatrix.BlockSize == 0 ? visible - visible % Int8Cache.Tile : 0;

    /// <summary>
    /// scores[g · visible + j] = scale · q · k for the heads g &lt; count and the keys j &lt; tiled of a q8 cache, the
    /// query row rounded to q8 blocks once for all of them.
    /// </summary>
    // The query's buffers are written whole by Quantize: clearing them first would only cost time.
    [SkipLocalsInit]
    private static void TileScores(in AttentionJob s, int b, int h0, int count, int queryRow, int tiled, int visible, float[] scores)
    {
        int length = count * s.HeadDim;
        Span<sbyte> query = length <= 4096 ? stackalloc sbyte[length] : new sbyte[length];
        Span<float> queryScales = length <= 4096 ? stackalloc float[length / PackedMatrix.BlockSize] : new float[length / PackedMatrix.BlockSize];
        unsafe
        {
            fixed (sbyte* q = query)
            fixed (float* qs = queryScales)
                Int8Cache.Quantize(s.Q.AsSpan(queryRow, length), q, qs);
        }
        for (int j = 0; j < tiled; j += Int8Cache.Tile)
        {
            int keyRow = s.KOffset + (b * s.KeyRows + j) * s.Width + h0 * s.HeadDim;
            s.CachedKeys!.TileDots(query, queryScales, keyRow, s.Width, s.Scale, scores.AsSpan(j), visible);
        }
    }

    /// <summary>sum = v · w + sum, rounded after the product as TensorPrimitives.MultiplyAdd rounds, without its call per row.</summary>
    private static void AddScaled(ReadOnlySpan<float> v, float w, Span<float> sum)
    {
        int width = Vector<float>.Count, p = 0;
        var weight = new Vector<float>(w);
        ref float vr = ref MemoryMarshal.GetReference(v);
        ref float sr = ref MemoryMarshal.GetReference(sum);
        for (; p <= v.Length - width; p += width)
            (Vector.LoadUnsafe(ref vr, (nuint)p) * weight + Vector.LoadUnsafe(ref sr, (nuint)p)).StoreUnsafe(ref sr, (nuint)p);
        for (; p < v.Length; p++) sum[p] = v[p] * w + sum[p];
    }

    protected override void NearestCodesCore(Tensor x, Tensor codebook, Span<int> codes)
    {
        int size = codebook.Dim(0), d = codebook.Dim(1), n = codes.Length;
        var es = Array(codebook, out int eo);
        var norms = new float[size];
        for (int c = 0; c < size; c++) norms[c] = TensorPrimitives.SumOfSquares(es.AsSpan(eo + c * d, d));
        var result = new int[n];
        const int rowsPerItem = 16;
        CpuParallel.For((n + rowsPerItem - 1) / rowsPerItem, (long)rowsPerItem * size * d,
            (xs: Array(x, out int xo), xo, es, eo, norms, result, n, size, d), static (in s, start, end) =>
        {
            var products = Scratch.Get(rowsPerItem * s.size);
            for (int item = start; item < end; item++)
            {
                int r0 = item * rowsPerItem, rows = Math.Min(rowsPerItem, s.n - r0);
                Gemm.MultiplyTransposed(s.xs.AsSpan(s.xo + r0 * s.d), s.d, s.es.AsSpan(s.eo), s.d, products, s.size, rows, s.size, s.d);
                for (int r = 0; r < rows; r++)
                {
                    // The reference's distance, term for term: |x|² − 2x·e + |e|², the first of equals winning.
                    float xx = TensorPrimitives.SumOfSquares(s.xs.AsSpan(s.xo + (r0 + r) * s.d, s.d));
                    int best = 0;
                    float bestDistance = float.PositiveInfinity;
                    for (int c = 0; c < s.size; c++)
                    {
                        float distance = xx - 2 * products[r * s.size + c] + s.norms[c];
                        if (distance < bestDistance) (bestDistance, best) = (distance, c);
                    }
                    s.result[r0 + r] = best;
                }
            }
        });
        result.CopyTo(codes);
    }
}
