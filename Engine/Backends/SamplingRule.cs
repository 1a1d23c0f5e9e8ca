using TensorPrimitives = System.Numerics.Tensors.TensorPrimitives;

namespace MusicGen.Engine.Backends;

/// <summary>
/// How a row of logits becomes a code, in float32 as every backend computes it (<see cref="IBackend.SampleCodes"/>):
/// classifier-free guidance (uncond + g · (cond − uncond)) when <see cref="Guided"/>; then greedy (the first index of
/// the maximum), or temperature (times <see cref="InverseTemperature"/>), top-k (everything below the k-th largest score goes, ties with it stay, as
/// TopKLogitsWarper), top-p (TopPLogitsWarper over the scores in ascending order, equal scores by ascending index)
/// and the draw: the first index, in index order, whose running sum of exp(s − max) exceeds uniform × the total.
/// <see cref="Pick"/> is the definition the device kernels are tested against.
/// </summary>
public readonly record struct SamplingRule(bool Guided, float GuidanceScale, bool Greedy, float Temperature, int TopK, float TopP)
{
    /// <summary>Temperature as the factor the scores are multiplied by (1 / T in float32, exact on every device).</summary>
    public float InverseTemperature => 1f / Temperature;

    /// <summary>Row r's scores [V] from logits [R, V] (guided: [2·R, V]): ClassifierFreeGuidanceLogitsProcessor's uncond + g · (cond − uncond).</summary>
    public void Guide(ReadOnlySpan<float> logits, int rows, int r, Span<float> scores)
    {
        int v = scores.Length;
        var conditional = logits.Slice(r * v, v);
        if (!Guided)
        {
            conditional.CopyTo(scores);
            return;
        }
        var unconditional = logits.Slice((rows + r) * v, v);
        for (int i = 0; i < v; i++) scores[i] = unconditional[i] + GuidanceScale * (conditional[i] - unconditional[i]);
    }

    /// <summary>The code of one row whose guided scores are in <paramref name="scores"/> (overwritten); -1 when a score is not finite.</summary>
    public int Pick(Span<float> scores, float uniform, Span<long> order)
    {
        if (!float.IsFinite(TensorPrimitives.SumOfMagnitudes(scores)))
            foreach (float s in scores)
                if (!float.IsFinite(s)) return -1;
        if (Greedy) return TensorPrimitives.IndexOfMax(scores);
        if (InverseTemperature != 1f) TensorPrimitives.Multiply(scores, InverseTemperature, scores);
        int v = scores.Length;
        int topK = TopK == 0 ? v : Math.Min(TopK, v);
        if (topK < v)
        {
            for (int i = 0; i < v; i++) order[i] = OrderKey(scores[i], i);
            float threshold = scores[(int)Select(order[..v], v - topK)];
            for (int i = 0; i < v; i++) if (scores[i] < threshold) scores[i] = float.NegativeInfinity;
        }
        if (TopP < 1f)
        {
            // Only the scores left, in ascending order: the masked ones, all below them, would add zeros to both sums.
            int left = 0;
            for (int i = 0; i < v; i++) if (scores[i] != float.NegativeInfinity) order[left++] = OrderKey(scores[i], i);
            order[..left].Sort();
            float top = scores[(int)order[left - 1]], total = 0f, cumulative = 0f, limit = 1f - TopP;
            for (int i = 0; i < left; i++) total += MathF.Exp(scores[(int)order[i]] - top);
            for (int i = 0; i < left - 1; i++)
            {
                int at = (int)order[i];
                cumulative += MathF.Exp(scores[at] - top) / total;
                if (cumulative > limit) break;
                scores[at] = float.NegativeInfinity;
            }
        }
        return Draw(scores, uniform);
    }

    /// <summary>
    /// The <paramref name="k"/>-th smallest (from 0) of distinct keys, found by partitioning (the keys are reordered):
    /// top-k needs only the threshold, not the whole order.
    /// </summary>
    private static long Select(Span<long> keys, int k)
    {
        int low = 0, high = keys.Length - 1;
        for (int round = 0; high > low; round++)
        {
            if (round == 64)
            {
                // Pivots this unlucky are not logits; a sort bounds the time.
                keys[low..(high + 1)].Sort();
                break;
            }
            long a = keys[low], b = keys[(low + high) >>> 1], c = keys[high];
            long pivot = Math.Max(Math.Min(a, b), Math.Min(Math.Max(a, b), c));
            int i = low, j = high;
            while (i <= j)
            {
                while (keys[i] < pivot) i++;
                while (keys[j] > pivot) j--;
                if (i <= j)
                {
                    (keys[i], keys[j]) = (keys[j], keys[i]);
                    i++;
                    j--;
                }
            }
            if (k <= j) high = j;
            else if (k >= i) low = i;
            else break;
        }
        return keys[k];
    }

    private static int Draw(ReadOnlySpan<float> scores, float uniform)
    {
        float max = TensorPrimitives.Max(scores), total = 0f;
        for (int i = 0; i < scores.Length; i++) if (scores[i] != float.NegativeInfinity) total += MathF.Exp(scores[i] - max);
        float target = uniform * total, cumulative = 0f;
        int last = 0;
        for (int i = 0; i < scores.Length; i++)
        {
            if (scores[i] == float.NegativeInfinity) continue;
            cumulative += MathF.Exp(scores[i] - max);
            last = i;
            if (cumulative > target) return i;
        }
        return last;
    }

    /// <summary>
    /// A key whose signed order is the scores' ascending order, equal scores by ascending index, the index in its
    /// low 32 bits: the float's bits made monotonic (−0 as +0) above it.
    /// </summary>
    public static long OrderKey(float score, int index)
    {
        int bits = BitConverter.SingleToInt32Bits(score + 0f);
        int monotonic = bits < 0 ? bits ^ 0x7FFFFFFF : bits;
        return ((long)monotonic << 32) | (uint)index;
    }

    /// <summary>A uniform in [0, 1) of 24 random bits, exact in float32, from one draw of the generator's 64.</summary>
    public static float Uniform(ulong random) => (random >> 40) * (1f / (1 << 24));
}
