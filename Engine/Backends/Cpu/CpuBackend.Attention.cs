using MusicGen.Engine.Tensors;
using TensorPrimitives = System.Numerics.Tensors.TensorPrimitives;

namespace MusicGen.Engine.Backends.Cpu;

public sealed partial class CpuBackend
{
    /// <summary>One attention call's arrays, offsets and sizes, handed to the worker threads.</summary>
    private readonly record struct AttentionJob(
        float[] Q, int QOffset, float[] K, int KOffset, float[] V, int VOffset, float[] Output, int OutputOffset,
        float[]? Bias, int BiasOffset, float[]? Mask, int MaskOffset,
        int Heads, int Queries, int Keys, int KeyRows, int Width, int HeadDim, float Scale, bool Causal, int QueryOffset);

    public void Attention(Tensor q, Tensor k, Tensor v, Tensor output, AttentionOptions options)
    {
        int batch = q.Dim(0), queries = q.Dim(1), width = q.Dim(2);
        int keyRows = k.Dim(1), keys = options.KeyLength, heads = options.Heads;
        OperationContracts.Attention(q, k, v, output, options);

        var job = new AttentionJob(
            Array(q, out int qo), qo, Array(k, out int ko), ko, Array(v, out int vo), vo, Array(output, out int oo), oo,
            options.PositionBias is null ? null : Array(options.PositionBias, out _), options.PositionBias is null ? 0 : checked((int)options.PositionBias.Offset),
            options.KeyMask is null ? null : Array(options.KeyMask, out _), options.KeyMask is null ? 0 : checked((int)options.KeyMask.Offset),
            heads, queries, keys, keyRows, width, width / heads, options.Scale, options.Causal, options.QueryOffset);
        CpuParallel.For(batch * heads * queries, 2L * keys * job.HeadDim, job, static (in s, start, end) =>
        {
            var scores = Scratch.Get(s.Keys);
            for (int item = start; item < end; item++)
                AttendOne(s, item / (s.Heads * s.Queries), item / s.Queries % s.Heads, item % s.Queries, scores);
        });
    }

    /// <summary>One query row of one head: scores, masking as the reference masks, softmax, weighted values.</summary>
    private static void AttendOne(in AttentionJob s, int b, int h, int i, float[] scores)
    {
        int dh = s.HeadDim;
        int visible = s.Causal ? Math.Min(s.Keys, s.QueryOffset + i + 1) : s.Keys;
        ref float query = ref s.Q[s.QOffset + (b * s.Queries + i) * s.Width + h * dh];
        for (int j = 0; j < visible; j++)
        {
            float score = s.Scale * Gemm.Dot(ref query, ref s.K[s.KOffset + (b * s.KeyRows + j) * s.Width + h * dh], dh);
            if (s.Bias is not null) score += s.Bias[s.BiasOffset + (h * s.Queries + i) * s.Keys + j];
            if (s.Mask is not null && s.Mask[s.MaskOffset + b * s.Keys + j] == 0f) score = float.MinValue;
            scores[j] = score;
        }
        var weights = scores.AsSpan(0, visible);
        SoftmaxInPlace(weights, weights);
        var result = s.Output.AsSpan(s.OutputOffset + (b * s.Queries + i) * s.Width + h * dh, dh);
        result.Clear();
        for (int j = 0; j < visible; j++)
            TensorPrimitives.MultiplyAdd(s.V.AsSpan(s.VOffset + (b * s.KeyRows + j) * s.Width + h * dh, dh), weights[j], result, result);
    }

    public void NearestCodes(Tensor x, Tensor codebook, Span<int> codes)
    {
        int size = codebook.Dim(0), d = codebook.Dim(1), n = codes.Length;
        OperationContracts.NearestCodes(x, codebook, codes.Length);
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
