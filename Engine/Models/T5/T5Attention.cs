using MusicGen.Engine.Backends;
using MusicGen.Engine.Models.Layers;
using MusicGen.Engine.Tensors;
using MusicGen.Loaders.Checkpoints;
using MusicGen.Loaders.Configs;

namespace MusicGen.Engine.Models.T5;

/// <summary>
/// T5 self-attention (modeling_t5.T5Attention) in the encoder: no 1/√d scaling, a learned relative-position bias
/// added to the scores. Only the first block owns the bias table; the others reuse its bias.
/// </summary>
public sealed class T5Attention : IDisposable
{
    private readonly IBackend _backend;
    private readonly T5Config _config;
    private readonly Linear _q, _k, _v, _o;      // d -> inner (q, k, v), inner -> d (o)
    private readonly float[]? _relativeBias;     // [buckets, heads] on the host: the bias is built per sequence length

    public bool HasRelativeAttentionBias => _relativeBias is not null;

    public T5Attention(IBackend backend, T5Config config, WeightReader weights, bool hasRelativeAttentionBias)
    {
        _backend = backend;
        _config = config;
        int d = config.DModel, inner = config.InnerDim;
        _q = new Linear(backend, weights, "q", d, inner, bias: false);
        _k = new Linear(backend, weights, "k", d, inner, bias: false);
        _v = new Linear(backend, weights, "v", d, inner, bias: false);
        _o = new Linear(backend, weights, "o", inner, d, bias: false);
        if (hasRelativeAttentionBias)
            _relativeBias = weights.Float("relative_attention_bias.weight", config.RelativeAttentionNumBuckets, config.NumHeads).Data;
    }

    /// <summary>The position bias [heads, T, T] for a sequence of the given length (reference: compute_bias).</summary>
    public Tensor ComputeBias(int length)
    {
        var table = _relativeBias ?? throw new InvalidOperationException("this attention layer has no relative bias table");
        int heads = _config.NumHeads;
        var bias = new float[heads * length * length];
        for (int i = 0; i < length; i++)
            for (int j = 0; j < length; j++)
            {
                int bucket = RelativePositionBucket(j - i, bidirectional: true, _config.RelativeAttentionNumBuckets, _config.RelativeAttentionMaxDistance);
                for (int h = 0; h < heads; h++) bias[(h * length + i) * length + j] = table[bucket * heads + h];
            }
        return _backend.Upload(bias, heads, length, length);
    }

    /// <summary>
    /// Bucket of a relative position (memory − query), as _relative_position_bucket computes it, including its
    /// float32 logarithm: the bucket edges fall exactly on integers, so the arithmetic must round the same way.
    /// </summary>
    public static int RelativePositionBucket(int relativePosition, bool bidirectional, int numBuckets, int maxDistance)
    {
        int bucket = 0;
        int distance;
        if (bidirectional)
        {
            numBuckets /= 2;
            if (relativePosition > 0) bucket += numBuckets;
            distance = Math.Abs(relativePosition);
        }
        else
        {
            distance = -Math.Min(relativePosition, 0);
        }
        int maxExact = numBuckets / 2;
        if (distance < maxExact) return bucket + distance;
        float scaled = MathF.Log((float)distance / maxExact) / (float)Math.Log((double)maxDistance / maxExact) * (numBuckets - maxExact);
        return bucket + Math.Min(maxExact + (int)scaled, numBuckets - 1);
    }

    public Tensor Forward(Tensor hidden, Tensor positionBias, Tensor keyMask) // [B, T, d] -> [B, T, d]
    {
        int batch = hidden.Dim(0), length = hidden.Dim(1), inner = _config.InnerDim;
        var rows = hidden.Reshape(batch * length, _config.DModel);
        using var query = _backend.Allocate(batch, length, inner);
        using var key = _backend.Allocate(batch, length, inner);
        using var value = _backend.Allocate(batch, length, inner);
        using var context = _backend.Allocate(batch, length, inner);
        _q.Forward(rows, query.Reshape(batch * length, inner));
        _k.Forward(rows, key.Reshape(batch * length, inner));
        _v.Forward(rows, value.Reshape(batch * length, inner));
        _backend.Attention(query, key, value, context,
            new AttentionOptions(_config.NumHeads, Scale: 1f, KeyLength: length, PositionBias: positionBias, KeyMask: keyMask));
        var output = _backend.Allocate(batch, length, _config.DModel);
        _o.Forward(context.Reshape(batch * length, inner), output.Reshape(batch * length, _config.DModel));
        return output;
    }

    /// <summary>Frees the weights on the device.</summary>
    public void Dispose()
    {
        foreach (var linear in new[] { _q, _k, _v, _o }) linear.Dispose();
    }
}
