using MusicGen.Engine.Backends;
using MusicGen.Engine.Tensors;
using MusicGen.Loaders.Checkpoints;

namespace MusicGen.Engine.Models.Musicgen;

/// <summary>
/// Multi-head attention of the MusicGen decoder (modeling_musicgen.MusicgenAttention): bias-free q, k, v and
/// output projections, queries scaled by 1/√head_dim. Keys and values are projected into caller-owned tensors
/// (the KV cache for self-attention, the once-per-generation conditioning for cross-attention).
/// </summary>
public sealed class MusicgenAttention
{
    private readonly IBackend _backend;
    private readonly Tensor _q, _k, _v, _out; // [D, D] each (k, v: [D, D_source] for cross-attention)

    public int Heads { get; }
    public float Scaling { get; }

    public MusicgenAttention(IBackend backend, WeightReader weights, int width, int heads, int sourceWidth)
    {
        _backend = backend;
        Heads = heads;
        Scaling = 1f / MathF.Sqrt(width / heads);
        _q = backend.Upload(weights.Float("q_proj.weight", width, width));
        _k = backend.Upload(weights.Float("k_proj.weight", width, sourceWidth));
        _v = backend.Upload(weights.Float("v_proj.weight", width, sourceWidth));
        _out = backend.Upload(weights.Float("out_proj.weight", width, width));
    }

    /// <summary>keys, values [R, D] = source [R, D_source] projected.</summary>
    public void ProjectKeysAndValues(Tensor source, Tensor keys, Tensor values)
    {
        _backend.Linear(source, _k, null, keys);
        _backend.Linear(source, _v, null, values);
    }

    /// <summary>output [N·T, D] = out_proj(attention(q_proj(hidden [N·T, D]), keys, values)).</summary>
    public void Forward(Tensor hidden, Tensor keys, Tensor values, AttentionOptions options, DecoderWorkspace work, Tensor output)
    {
        _backend.Linear(hidden, _q, null, work.Query);
        _backend.Attention(work.QueryByBatch, keys, values, work.ContextByBatch, options);
        _backend.Linear(work.Context, _out, null, output);
    }
}
