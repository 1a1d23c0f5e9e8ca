using MusicGen.Engine.Backends;
using MusicGen.Engine.Models.Layers;
using MusicGen.Loaders.Checkpoints;
using MusicGen.Loaders.Configs;

namespace MusicGen.Engine.Models.Musicgen;

/// <summary>
/// One pre-norm decoder layer (modeling_musicgen.MusicgenDecoderLayer): causal self-attention over the cache,
/// cross-attention to the conditioning (absent in the melody decoder), and a bias-free GELU feed-forward.
/// </summary>
public sealed class MusicgenDecoderLayer : IDisposable
{
    private readonly LayerNorm _selfAttnLayerNorm;
    private readonly LayerNorm? _encoderAttnLayerNorm;
    private readonly LayerNorm _finalLayerNorm;
    private readonly Linear _fc1, _fc2; // D -> F, F -> D
    private readonly ActivationKind _activation;

    public MusicgenAttention SelfAttention { get; }
    public MusicgenAttention? EncoderAttention { get; }

    public MusicgenDecoderLayer(IBackend backend, MusicgenDecoderConfig config, WeightReader weights, int? crossAttentionSourceWidth)
    {
        int d = config.HiddenSize;
        SelfAttention = new MusicgenAttention(backend, weights.Scope("self_attn."), d, config.NumAttentionHeads, crossSourceWidth: null);
        _selfAttnLayerNorm = new LayerNorm(backend, weights, "self_attn_layer_norm", d);
        if (crossAttentionSourceWidth is int source)
        {
            EncoderAttention = new MusicgenAttention(backend, weights.Scope("encoder_attn."), d, config.NumAttentionHeads, source);
            _encoderAttnLayerNorm = new LayerNorm(backend, weights, "encoder_attn_layer_norm", d);
        }
        _finalLayerNorm = new LayerNorm(backend, weights, "final_layer_norm", d);
        _fc1 = new Linear(backend, weights, "fc1", d, config.FfnDim, bias: false);
        _fc2 = new Linear(backend, weights, "fc2", config.FfnDim, d, bias: false);
        _activation = config.ActivationFunction switch
        {
            "gelu" => ActivationKind.Gelu,
            "gelu_new" or "gelu_pytorch_tanh" => ActivationKind.GeluTanh,
            "relu" => ActivationKind.Relu,
            _ => throw new MusicGenException($"decoder activation '{config.ActivationFunction}' is not supported"),
        };
    }

    /// <summary>Updates work.Hidden [N·T, D] for T new positions; keys and values go to the cache of this layer.</summary>
    public void Forward(DecoderCache cache, int layer, int tokens, DecoderWorkspace work)
    {
        var hidden = work.Hidden;
        SelfAttention.ProjectQueriesKeysAndValues(_selfAttnLayerNorm, hidden, work);
        var selfOptions = new AttentionOptions(SelfAttention.Heads, SelfAttention.Scaling, cache.Length + tokens, Causal: true, QueryOffset: cache.Length);
        SelfAttention.AppendAndAttend(cache.SelfKeys[layer], cache.SelfValues[layer], selfOptions, work, hidden);

        if (EncoderAttention is not null)
        {
            var crossOptions = new AttentionOptions(EncoderAttention.Heads, EncoderAttention.Scaling, cache.CrossLength, KeyMask: cache.CrossMask);
            EncoderAttention.ProjectQueries(_encoderAttnLayerNorm!, hidden, work);
            EncoderAttention.Attend(cache.CrossKeys![layer], cache.CrossValues![layer], crossOptions, work, hidden);
        }

        _fc1.Forward(_finalLayerNorm, hidden, work.Inner, LinearEpilogue.Then(_activation)); // [N·T, F] = GELU(fc1(final_layer_norm(hidden)))
        _fc2.Forward(work.Inner, hidden, LinearEpilogue.Accumulate);             // hidden += fc2(…)
    }

    /// <summary>Frees the weights on the device.</summary>
    public void Dispose()
    {
        _selfAttnLayerNorm.Dispose();
        _encoderAttnLayerNorm?.Dispose();
        _finalLayerNorm.Dispose();
        _fc1.Dispose();
        _fc2.Dispose();
        SelfAttention.Dispose();
        EncoderAttention?.Dispose();
    }
}
