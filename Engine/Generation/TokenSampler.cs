using TensorPrimitives = System.Numerics.Tensors.TensorPrimitives;

namespace MusicGen.Engine.Generation;

/// <summary>
/// Picks the next code of every (batch, codebook) row from the decoder's logits, on the host: guidance, then
/// greedy argmax or temperature / top-k / top-p sampling. Buffers are reused from step to step.
/// </summary>
public sealed class TokenSampler
{
    private readonly SamplingOptions _options;
    private readonly Xoshiro256 _random;
    private readonly float[] _scores;
    private readonly float[] _sorted;
    private readonly int[] _order;

    public int Vocabulary { get; }

    public TokenSampler(SamplingOptions options, int vocabulary)
    {
        options.Validate();
        _options = options;
        _random = new Xoshiro256(options.Seed);
        Vocabulary = vocabulary;
        _scores = new float[vocabulary];
        _sorted = new float[vocabulary];
        _order = new int[vocabulary];
    }

    /// <summary>
    /// Next code of each row. logits holds rows × V (and, with guidance, the rows of the null half after them);
    /// scoresOut, if given, receives the guided scores before any warping.
    /// </summary>
    public void Next(ReadOnlySpan<float> logits, int rows, Span<int> codes, Span<float> scoresOut = default)
    {
        int v = Vocabulary;
        for (int r = 0; r < rows; r++)
        {
            var scores = _scores.AsSpan();
            var conditional = logits.Slice(r * v, v);
            if (_options.UsesGuidance)
            {
                // ClassifierFreeGuidanceLogitsProcessor: uncond + g · (cond − uncond).
                var unconditional = logits.Slice((rows + r) * v, v);
                float g = (float)_options.GuidanceScale;
                for (int i = 0; i < v; i++) scores[i] = unconditional[i] + g * (conditional[i] - unconditional[i]);
            }
            else
            {
                conditional.CopyTo(scores);
            }
            if (!scoresOut.IsEmpty) scores.CopyTo(scoresOut.Slice(r * v, v));
            codes[r] = _options.Greedy ? TensorPrimitives.IndexOfMax(scores) : Sample(scores);
        }
    }

    private int Sample(Span<float> scores)
    {
        if (_options.Temperature != 1.0) TensorPrimitives.Divide(scores, (float)_options.Temperature, scores);
        int v = scores.Length;
        int topK = _options.TopK == 0 ? v : Math.Min(_options.TopK, v);
        if (topK < v)
        {
            // Everything below the k-th largest score goes; ties with it stay, as in TopKLogitsWarper.
            scores.CopyTo(_sorted);
            _sorted.AsSpan().Sort();
            float threshold = _sorted[v - topK];
            for (int i = 0; i < v; i++) if (scores[i] < threshold) scores[i] = float.NegativeInfinity;
        }
        if (_options.TopP < 1.0) ApplyTopP(scores);

        float max = TensorPrimitives.Max(scores);
        double total = 0;
        for (int i = 0; i < v; i++) total += scores[i] == float.NegativeInfinity ? 0 : Math.Exp(scores[i] - max);
        double target = _random.NextDouble() * total, cumulative = 0;
        int last = 0;
        for (int i = 0; i < v; i++)
        {
            if (scores[i] == float.NegativeInfinity) continue;
            cumulative += Math.Exp(scores[i] - max);
            last = i;
            if (cumulative > target) return i;
        }
        return last;
    }

    /// <summary>TopPLogitsWarper: drop the least likely tokens whose probabilities sum to at most 1 − p, keep at least one.</summary>
    private void ApplyTopP(Span<float> scores)
    {
        int v = scores.Length;
        for (int i = 0; i < v; i++) _order[i] = i;
        scores.CopyTo(_sorted);
        Array.Sort(_sorted, _order); // ascending
        float max = _sorted[v - 1];
        double total = 0;
        for (int i = 0; i < v; i++) total += Math.Exp(_sorted[i] - max);
        double cumulative = 0, limit = 1 - _options.TopP;
        for (int i = 0; i < v - 1; i++)
        {
            cumulative += Math.Exp(_sorted[i] - max) / total;
            if (cumulative > limit) break;
            scores[_order[i]] = float.NegativeInfinity;
        }
    }
}
