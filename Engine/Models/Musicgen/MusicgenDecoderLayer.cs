using MusicGen.Engine.Backends;
using MusicGen.Engine.Tensors;
using MusicGen.Loaders.Checkpoints;
using MusicGen.Loaders.Configs;

namespace MusicGen.Engine.Models.Musicgen;

/// <summary>
/// One pre-norm decoder layer (modeling_musicgen.MusicgenDecoderLayer): causal self-attention over the cache,
/// cross-attention to the conditioning (absent in the melody decoder), and a bias-free GELU feed-forward.
/// </summary>
public sealed class MusicgenDecoderLayer
{
    private const float LayerNormEps = 1e-5f;

    private readonly IBackend _backend;
    private readonly Tensor _selfAttnNorm, _selfAttnNormBias;       // [D]
    private readonly Tensor? _encoderAttnNorm, _encoderAttnNormBias; // [D]
    private readonly Tensor _finalNorm, _finalNormBias;             // [D]
    private readonly Tensor _fc1, _fc2;                             // [F, D], [D, F]
    private readonly ActivationKind _activation;

    public MusicgenAttention SelfAttention { get; }
    public MusicgenAttention? EncoderAttention { get; }

    public MusicgenDecoderLayer(IBackend backend, MusicgenDecoderConfig config, WeightReader weights, int? crossAttentionSourceWidth)
    {
        _backend = backend;
        int d = config.HiddenSize;
        SelfAttention = new MusicgenAttention(backend, weights.Scope("self_attn."), d, config.NumAttentionHeads, d);
        _selfAttnNorm = backend.Upload(weights.Float("self_attn_layer_norm.weight", d));
        _selfAttnNormBias = backend.Upload(weights.Float("self_attn_layer_norm.bias", d));
        if (crossAttentionSourceWidth is int source)
        {
            EncoderAttention = new MusicgenAttention(backend, weights.Scope("encoder_attn."), d, config.NumAttentionHeads, source);
            _encoderAttnNorm = backend.Upload(weights.Float("encoder_attn_layer_norm.weight", d));
            _encoderAttnNormBias = backend.Upload(weights.Float("encoder_attn_layer_norm.bias", d));
        }
        _finalNorm = backend.Upload(weights.Float("final_layer_norm.weight", d));
        _finalNormBias = backend.Upload(weights.Float("final_layer_norm.bias", d));
        _fc1 = backend.Upload(weights.Float("fc1.weight", config.FfnDim, d));
        _fc2 = backend.Upload(weights.Float("fc2.weight", d, config.FfnDim));
        _activation = config.ActivationFunction switch
        {
            "gelu" => ActivationKind.Gelu,
            "gelu_new" or "gelu_pytorch_tanh" => ActivationKind.GeluTanh,
            "relu" => ActivationKind.Relu,
            _ => throw new Loaders.MusicGenException($"decoder activation '{config.ActivationFunction}' is not supported"),
        };
    }

    /// <summary>Updates work.Hidden [N·T, D] for T new positions; keys and values go to the cache of this layer.</summary>
    public void Forward(DecoderCache cache, int layer, int tokens, DecoderWorkspace work)
    {
        var hidden = work.Hidden;
        _backend.LayerNorm(hidden, _selfAttnNorm, _selfAttnNormBias, work.Normed, LayerNormEps);
        SelfAttention.ProjectKeysAndValues(work.Normed, work.Key, work.Value);
        cache.Append(layer, work.Key, work.Value, tokens);
        var selfOptions = new AttentionOptions(SelfAttention.Heads, SelfAttention.Scaling, cache.Length + tokens, Causal: true, QueryOffset: cache.Length);
        SelfAttention.Forward(work.Normed, cache.SelfKeys[layer], cache.SelfValues[layer], selfOptions, work, work.Projected);
        _backend.Add(hidden, work.Projected, hidden);

        if (EncoderAttention is not null)
        {
            _backend.LayerNorm(hidden, _encoderAttnNorm!, _encoderAttnNormBias, work.Normed, LayerNormEps);
            var crossOptions = new AttentionOptions(EncoderAttention.Heads, EncoderAttention.Scaling, cache.CrossLength, KeyMask: cache.CrossMask);
            EncoderAttention.Forward(work.Normed, cache.CrossKeys![layer], cache.CrossValues![layer], crossOptions, work, work.Projected);
            _backend.Add(hidden, work.Projected, hidden);
        }

        _backend.LayerNorm(hidden, _finalNorm, _finalNormBias, work.Normed, LayerNormEps);
        _backend.Linear(work.Normed, _fc1, null, work.Inner);
        _backend.Activation(work.Inner, work.Inner, _activation);
        _backend.Linear(work.Inner, _fc2, null, work.Projected);
        _backend.Add(hidden, work.Projected, hidden);
    }
}
