using MusicGen.Engine.Backends;
using MusicGen.Engine.Tensors;
using MusicGen.Loaders.Checkpoints;
using MusicGen.Loaders.Configs;

namespace MusicGen.Engine.Models.T5;

/// <summary>
/// One T5 encoder block (modeling_t5.T5Block): x + SelfAttention(norm(x)), then x + FeedForward(norm(x)), with
/// T5's RMS norm (no mean, no bias).
/// </summary>
public sealed class T5Block : IDisposable
{
    private readonly IBackend _backend;
    private readonly T5Config _config;
    private readonly Tensor _attentionNorm; // [d]
    private readonly Tensor _feedForwardNorm; // [d]

    public T5Attention SelfAttention { get; }
    public T5FeedForward FeedForward { get; }

    public T5Block(IBackend backend, T5Config config, WeightReader weights, bool hasRelativeAttentionBias)
    {
        _backend = backend;
        _config = config;
        SelfAttention = new T5Attention(backend, config, weights.Scope("layer.0.SelfAttention."), hasRelativeAttentionBias);
        _attentionNorm = backend.Upload(weights.Float("layer.0.layer_norm.weight", config.DModel));
        FeedForward = new T5FeedForward(backend, config, weights.Scope("layer.1.DenseReluDense."));
        _feedForwardNorm = backend.Upload(weights.Float("layer.1.layer_norm.weight", config.DModel));
    }

    public Tensor Forward(Tensor hidden, Tensor positionBias, Tensor keyMask) // [B, T, d] -> [B, T, d]
    {
        float eps = (float)_config.LayerNormEpsilon;
        using var normed = _backend.Allocate(hidden.ShapeArray());
        _backend.RmsNorm(hidden, _attentionNorm, normed, eps);
        var output = SelfAttention.Forward(normed, positionBias, keyMask);
        _backend.Add(hidden, output, output);
        _backend.RmsNorm(output, _feedForwardNorm, normed, eps);
        using var feedForward = FeedForward.Forward(normed);
        _backend.Add(output, feedForward, output);
        return output;
    }

    /// <summary>Frees the weights on the device.</summary>
    public void Dispose()
    {
        _attentionNorm.Dispose();
        _feedForwardNorm.Dispose();
        SelfAttention.Dispose();
        FeedForward.Dispose();
    }
}
