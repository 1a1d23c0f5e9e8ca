using MusicGen.Engine.Backends;
using MusicGen.Engine.Models.Layers;
using MusicGen.Engine.Tensors;
using MusicGen.Loaders.Checkpoints;

namespace MusicGen.Engine.Models.Musicgen;

/// <summary>
/// Multi-head attention of the MusicGen decoder (modeling_musicgen.MusicgenAttention): bias-free q, k, v and
/// output projections, queries scaled by 1/√head_dim. Self-attention's q, k and v weights are stacked at load into
/// one [3·D, D] matrix, so one product projects all three (into the workspace's planes). Cross-attention keeps them
/// apart: its keys and values are projected once per generation from the conditioning, into caller-owned tensors.
/// </summary>
public sealed class MusicgenAttention : IDisposable
{
    private readonly IBackend _backend;
    private readonly int _width;
    private readonly Tensor? _queryKeyValue; // [3·D, D], self-attention
    private readonly Linear? _q, _k, _v;     // D -> D; k, v: D_source -> D (cross-attention)
    private readonly Linear _out;            // D -> D

    public int Heads { get; }
    public float Scaling { get; }

    /// <summary>Self-attention when <paramref name="crossSourceWidth"/> is null; cross-attention to a source of that width otherwise.</summary>
    public MusicgenAttention(IBackend backend, WeightReader weights, int width, int heads, int? crossSourceWidth)
    {
        _backend = backend;
        _width = width;
        Heads = heads;
        Scaling = 1f / MathF.Sqrt(width / heads);
        if (crossSourceWidth is int source)
        {
            _q = new Linear(backend, weights, "q_proj", width, width, bias: false);
            _k = new Linear(backend, weights, "k_proj", source, width, bias: false);
            _v = new Linear(backend, weights, "v_proj", source, width, bias: false);
        }
        else _queryKeyValue = backend.UploadMatrix(weights, ["q_proj.weight", "k_proj.weight", "v_proj.weight"], width, width);
        _out = new Linear(backend, weights, "out_proj", width, width, bias: false);
    }

    /// <summary>
    /// Self-attention: work's Query, Key and Value [N·T, D] = q, k, v projections of norm(hidden [N·T, D]), the layer's
    /// norm and the three projections in one product.
    /// </summary>
    public void ProjectQueriesKeysAndValues(LayerNorm norm, Tensor hidden, DecoderWorkspace work) =>
        norm.ThenLinear(hidden, _queryKeyValue ?? throw new InvalidOperationException("cross-attention has no stacked projections"),
            null, work.QueryKeyValue, LinearEpilogue.Planes(_width));

    /// <summary>Cross-attention: work's Query [N·T, D] = q_proj(norm(hidden [N·T, D])), in one product.</summary>
    public void ProjectQueries(LayerNorm norm, Tensor hidden, DecoderWorkspace work) => CrossProjection(_q).Forward(norm, hidden, work.Query);

    /// <summary>Cross-attention: keys, values [R, D] = source [R, D_source] projected.</summary>
    public void ProjectKeysAndValues(Tensor source, Tensor keys, Tensor values)
    {
        CrossProjection(_k).Forward(source, keys);
        CrossProjection(_v).Forward(source, values);
    }

    /// <summary>
    /// residual [N·T, D] += out_proj(attention(work's Query, keys, values)): the layer's residual add is the output
    /// projection's epilogue.
    /// </summary>
    public void Attend(Tensor keys, Tensor values, AttentionOptions options, DecoderWorkspace work, Tensor residual)
    {
        _backend.Attention(work.QueryByBatch, keys, values, work.ContextByBatch, options);
        _out.Forward(work.Context, residual, LinearEpilogue.Accumulate);
    }

    /// <summary>
    /// Self-attention: work's Key and Value [N·T, D] written into the caches [N, capacity, D] at the query offset, then
    /// residual [N·T, D] += out_proj(attention(work's Query, the caches)); the append and attention one operation.
    /// </summary>
    public void AppendAndAttend(Tensor keyCache, Tensor valueCache, AttentionOptions options, DecoderWorkspace work, Tensor residual)
    {
        _backend.AppendAndAttend(work.QueryByBatch, work.Key, work.Value, keyCache, valueCache, work.ContextByBatch, options);
        _out.Forward(work.Context, residual, LinearEpilogue.Accumulate);
    }

    private static Linear CrossProjection(Linear? projection) =>
        projection ?? throw new InvalidOperationException("self-attention's projections are stacked");

    /// <summary>Frees the weights on the device.</summary>
    public void Dispose()
    {
        _queryKeyValue?.Dispose();
        _q?.Dispose();
        _k?.Dispose();
        _v?.Dispose();
        _out.Dispose();
    }
}
