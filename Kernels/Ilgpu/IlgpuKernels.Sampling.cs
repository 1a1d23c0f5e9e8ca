using ILGPU;

namespace MusicGen.Kernels.Ilgpu;

/// <summary>A sampling call's rule and sizes (see <see cref="MusicGen.Engine.Backends.SamplingRule"/>).</summary>
internal struct SamplingArguments
{
    public int Rows, Vocabulary, Guided, Greedy, TopK;
    public float GuidanceScale, InverseTemperature, TopP;
}

internal static partial class IlgpuKernels
{
    /// <summary>
    /// One thread a row: SamplingRule.Pick step for step (guidance, greedy or temperature, top-k, top-p, the draw),
    /// the order heap-sorted keys in order [R, V], the scores in scores [R, V]; codes[r] = -1 for a non-finite score.
    /// </summary>
    public static void SampleCodes(Index1D index, ArrayView<float> logits, ArrayView<float> uniforms, ArrayView<float> scores,
        ArrayView<long> order, ArrayView<int> codes, SamplingArguments a)
    {
        int r = index, v = a.Vocabulary;
        long row = (long)r * v, unconditional = (long)(a.Rows + r) * v;
        bool finite = true;
        for (int i = 0; i < v; i++)
        {
            float c = logits[row + i];
            float x = a.Guided != 0 ? logits[unconditional + i] + a.GuidanceScale * (c - logits[unconditional + i]) : c;
            finite &= !float.IsNaN(x) && !float.IsInfinity(x);
            scores[row + i] = x;
        }
        if (!finite)
        {
            codes[r] = -1;
            return;
        }
        if (a.Greedy != 0)
        {
            int best = 0;
            for (int i = 1; i < v; i++) if (scores[row + i] > scores[row + best]) best = i;
            codes[r] = best;
            return;
        }
        if (a.InverseTemperature != 1f) for (int i = 0; i < v; i++) scores[row + i] = scores[row + i] * a.InverseTemperature;
        int k = a.TopK == 0 ? v : Math.Min(a.TopK, v);
        if (k < v || a.TopP < 1f)
        {
            for (int i = 0; i < v; i++) order[row + i] = OrderKey(scores[row + i], i);
            for (int i = v / 2 - 1; i >= 0; i--) SiftDown(order, row, i, v);
            for (int end = v - 1; end > 0; end--)
            {
                long t = order[row];
                order[row] = order[row + end];
                order[row + end] = t;
                SiftDown(order, row, 0, end);
            }
        }
        if (k < v)
        {
            float threshold = scores[row + OrderIndex(order[row + v - k])];
            for (int i = 0; i < v; i++) if (scores[row + i] < threshold) scores[row + i] = float.NegativeInfinity;
        }
        if (a.TopP < 1f)
        {
            float top = scores[row + OrderIndex(order[row + v - 1])], limit = 1f - a.TopP, mass = 0f, cumulative = 0f;
            for (int i = 0; i < v; i++) mass += MathF.Exp(scores[row + OrderIndex(order[row + i])] - top);
            for (int i = 0; i < v - 1; i++)
            {
                int at = OrderIndex(order[row + i]);
                cumulative += MathF.Exp(scores[row + at] - top) / mass;
                if (cumulative > limit) break;
                scores[row + at] = float.NegativeInfinity;
            }
        }
        codes[r] = Draw(scores.SubView(row, v), uniforms[r]);
    }

    private static int Draw(ArrayView<float> s, float uniform)
    {
        int v = (int)s.Length;
        float max = float.NegativeInfinity, total = 0f, cumulative = 0f;
        for (int i = 0; i < v; i++) max = Math.Max(max, s[i]);
        for (int i = 0; i < v; i++) if (s[i] != float.NegativeInfinity) total += MathF.Exp(s[i] - max);
        float target = uniform * total;
        int last = 0;
        for (int i = 0; i < v; i++)
        {
            if (s[i] == float.NegativeInfinity) continue;
            cumulative += MathF.Exp(s[i] - max);
            last = i;
            if (cumulative > target) return i;
        }
        return last;
    }

    /// <summary>SamplingRule.OrderKey.</summary>
    private static long OrderKey(float score, int index)
    {
        int bits = (int)Interop.FloatAsInt(score + 0f);
        int monotonic = bits < 0 ? bits ^ 0x7FFFFFFF : bits;
        return ((long)monotonic << 32) | (uint)index;
    }

    private static int OrderIndex(long key) => (int)(key & 0x7FFFFFFF);

    private static void SiftDown(ArrayView<long> order, long row, int root, int end)
    {
        while (2 * root + 1 < end)
        {
            int child = 2 * root + 1;
            if (child + 1 < end && order[row + child] < order[row + child + 1]) child++;
            if (order[row + root] >= order[row + child]) return;
            long t = order[row + root];
            order[row + root] = order[row + child];
            order[row + child] = t;
            root = child;
        }
    }
}
