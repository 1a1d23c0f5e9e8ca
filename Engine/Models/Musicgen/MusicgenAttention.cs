using MusicGen.Engine.Backends;
using MusicGen.Engine.Models.Layers;
using MusicGen.Engine.Tensors;
using MusicGen.Loaders.Checkpoints;

namespace MusicGen.Engine.Models.Musicgen;

/// <summary>
/// Multi-head attention of the MusicGen decoder (modeling_musicgen.MusicgenAttention): bias-free q, k, v and
/// output projections, queries scaled by 1/√head_dim. Keys and values are projected into caller-owned tensors
/// (the KV cache for self-attention, the once-per-generation conditioning for cross-attention).
/// </summary>
public sealed class MusicgenAttention : IDisposable
{
    private readonly IBackend _backend;
    private readonly Linear _q, _k, _v, _out; // D -> D (k, v: D_source -> D for cross-attention)

    public int Heads { get; }
    public float Scaling { get; }

    public MusicgenAttention(IBackend backend, WeightReader weights, int width, int heads, int sourceWidth)
    {
        _backend = backend;
        Heads = heads;
        Scaling = 1f / MathF.Sqrt(width / heads);
        _q = new Linear(backend, weights, "q_proj", width, width, bias: false);
        _k = new Linear(backend, weights, "k_proj", sourceWidth, width, bias: false);
        _v = new Linear(backend, weights, "v_proj", sourceWidth, width, bias: false);
        _out = new Linear(backend, weights, "out_proj", width, width, bias: false);
    }

    /// <summary>keys, values [R, D] = source [R, D_source] projected.</summary>
    public void ProjectKeysAndValues(Tensor source, Tensor keys, Tensor values)
    {
        _k.Forward(source, keys);
        _v.Forward(source, values);
    }

    /// <summary>output [N·T, D] = out_proj(attention(q_proj(hidden [N·T, D]), keys, values)).</summary>
    public void Forward(Tensor hidden, Tensor keys, Tensor values, AttentionOptions options, DecoderWorkspace work, Tensor output)
    {
        _q.Forward(hidden, work.Query);
        _backend.Attention(work.QueryByBatch, keys, values, work.ContextByBatch, options);
        _out.Forward(work.Context, output);
    }

    /// <summary>Frees the weights on the device.</summary>
    public void Dispose()
    {
        foreach (var linear in new[] { _q, _k, _v, _out }) linear.Dispose();
    }
}
