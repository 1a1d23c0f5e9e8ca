using TensorPrimitives = System.Numerics.Tensors.TensorPrimitives;
using MusicGen.Engine.Tensors;

namespace MusicGen.Engine.Backends.Cpu;

public sealed partial class CpuBackend
{
    public void Attention(Tensor q, Tensor k, Tensor v, Tensor output, AttentionOptions options)
    {
        int batch = q.Dim(0), queries = q.Dim(1), width = q.Dim(2);
        int keyRows = k.Dim(1), keys = options.KeyLength, heads = options.Heads, headDim = width / heads;
        Check.Shape(k.Dim(0) == batch && v.Dim(0) == batch && k.Dim(2) == width && v.Dim(2) == width && v.Dim(1) == keyRows
            && keys <= keyRows && output.Length == q.Length && width % heads == 0, "Attention", q, k, v, output);
        if (options.PositionBias is { } positionBias)
            Check.Shape(positionBias.Length == (long)heads * queries * keys, "Attention position bias", q, positionBias);
        if (options.KeyMask is { } keyMask)
            Check.Shape(keyMask.Length == (long)batch * keys, "Attention key mask", q, keyMask);

        var qs = Array(q, out int qo);
        var ks = Array(k, out int ko);
        var vs = Array(v, out int vo);
        var os = Array(output, out int oo);
        var biases = options.PositionBias is null ? null : Array(options.PositionBias, out _);
        int biasOffset = options.PositionBias is null ? 0 : checked((int)options.PositionBias.Offset);
        var masks = options.KeyMask is null ? null : Array(options.KeyMask, out _);
        int maskOffset = options.KeyMask is null ? 0 : checked((int)options.KeyMask.Offset);

        CpuParallel.For(batch * heads * queries, 2L * keys * headDim, (start, end) =>
        {
            var scores = Scratch.Get(keys);
            for (int item = start; item < end; item++)
            {
                int b = item / (heads * queries), h = item / queries % heads, i = item % queries;
                int visible = options.Causal ? Math.Min(keys, options.QueryOffset + i + 1) : keys;
                ref float query = ref qs[qo + (b * queries + i) * width + h * headDim];
                for (int j = 0; j < visible; j++)
                {
                    float score = options.Scale * Gemm.Dot(ref query, ref ks[ko + (b * keyRows + j) * width + h * headDim], headDim);
                    if (biases is not null) score += biases[biasOffset + (h * queries + i) * keys + j];
                    if (masks is not null && masks[maskOffset + b * keys + j] == 0f) score = float.MinValue;
                    scores[j] = score;
                }
                var weights = scores.AsSpan(0, visible);
                SoftmaxInPlace(weights, weights);
                var result = os.AsSpan(oo + (b * queries + i) * width + h * headDim, headDim);
                result.Clear();
                for (int j = 0; j < visible; j++)
                    TensorPrimitives.MultiplyAdd(vs.AsSpan(vo + (b * keyRows + j) * width + h * headDim, headDim), weights[j], result, result);
            }
        });
    }

    public void NearestCodes(Tensor x, Tensor codebook, Span<int> codes)
    {
        int size = codebook.Dim(0), d = codebook.Dim(1);
        int n = codes.Length;
        Check.Shape(x.Length == (long)n * d, "NearestCodes", x, codebook);
        var xs = Array(x, out int xo);
        var es = Array(codebook, out int eo);
        var norms = new float[size];
        for (int c = 0; c < size; c++) norms[c] = TensorPrimitives.SumOfSquares(es.AsSpan(eo + c * d, d));
        var result = new int[n];
        const int rowsPerItem = 16;
        CpuParallel.For((n + rowsPerItem - 1) / rowsPerItem, (long)rowsPerItem * size * d, (start, end) =>
        {
            var products = Scratch.Get(rowsPerItem * size);
            for (int item = start; item < end; item++)
            {
                int r0 = item * rowsPerItem, rows = Math.Min(rowsPerItem, n - r0);
                Gemm.MultiplyTransposed(xs.AsSpan(xo + r0 * d), d, es.AsSpan(eo), d, products, size, rows, size, d);
                for (int r = 0; r < rows; r++)
                {
                    // The reference's distance, term for term: |x|² − 2x·e + |e|², smallest first on ties.
                    float xx = TensorPrimitives.SumOfSquares(xs.AsSpan(xo + (r0 + r) * d, d));
                    int best = 0;
                    float bestDistance = float.PositiveInfinity;
                    for (int c = 0; c < size; c++)
                    {
                        float distance = xx - 2 * products[r * size + c] + norms[c];
                        if (distance < bestDistance)
                        {
                            bestDistance = distance;
                            best = c;
                        }
                    }
                    result[r0 + r] = best;
                }
            }
        });
        result.CopyTo(codes);
    }

    public void LstmStep(Tensor gates, Tensor recurrentWeight, Tensor cell, Tensor output, int t)
    {
        int batch = gates.Dim(0), steps = gates.Dim(1), hidden = recurrentWeight.Dim(1);
        Check.Shape(gates.Dim(2) == 4 * hidden && recurrentWeight.Dim(0) == 4 * hidden && cell.Length == (long)batch * hidden
            && output.Length == (long)batch * steps * hidden && (uint)t < (uint)steps, "LstmStep", gates, recurrentWeight, cell, output);
        var gs = Array(gates, out int go);
        var ws = Array(recurrentWeight, out int wo);
        var cs = Array(cell, out int co);
        var hs = Array(output, out int ho);
        // z[b, 4H] = gates[b, t] + W_hh · h[b, t − 1]; one pass over W_hh serves every batch row.
        var z = Scratch.Get(batch * 4 * hidden);
        if (t > 0)
        {
            CpuParallel.For(hidden, 4L * batch * hidden, (start, end) =>
                Gemm.MultiplyTransposed(hs.AsSpan(ho + (t - 1) * hidden), steps * hidden, ws.AsSpan(wo + start * 4 * hidden), hidden,
                    z.AsSpan(start * 4), 4 * hidden, batch, (end - start) * 4, hidden));
        }
        else
        {
            System.Array.Clear(z, 0, batch * 4 * hidden);
        }
        for (int b = 0; b < batch; b++)
        {
            var row = z.AsSpan(b * 4 * hidden, 4 * hidden);
            TensorPrimitives.Add(row, gs.AsSpan(go + (b * steps + t) * 4 * hidden, 4 * hidden), row);
            var c = cs.AsSpan(co + b * hidden, hidden);
            var h = hs.AsSpan(ho + (b * steps + t) * hidden, hidden);
            for (int j = 0; j < hidden; j++)
            {
                float input = Sigmoid(row[j]), forget = Sigmoid(row[hidden + j]);
                float candidate = MathF.Tanh(row[2 * hidden + j]), output_ = Sigmoid(row[3 * hidden + j]);
                float previous = t > 0 ? c[j] : 0f;
                c[j] = forget * previous + input * candidate;
                h[j] = output_ * MathF.Tanh(c[j]);
            }
        }
    }

    private static float Sigmoid(float x) => 1f / (1f + MathF.Exp(-x));
}
