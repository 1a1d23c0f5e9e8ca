using MusicGen.Engine.Backends;
using MusicGen.Engine.Models.Layers;
using MusicGen.Engine.Tensors;
using MusicGen.Loaders;
using MusicGen.Loaders.Checkpoints;
using MusicGen.Loaders.Configs;

namespace MusicGen.Engine.Models.Musicgen;

/// <summary>
/// The MusicGen decoder stack (modeling_musicgen.MusicgenDecoder): the sum of one embedding per codebook, plus
/// sinusoidal positions offset by what the cache holds, through the layers; its final layer norm
/// (<see cref="LayerNorm"/>) is the heads' product's prologue.
/// </summary>
public sealed class MusicgenDecoder : IDisposable
{
    private readonly IBackend _backend;
    private readonly Tensor[] _embedTokens;  // K × [vocab + 1, D]
    private readonly Tensor _embedPositions; // [max_positions, D]
    public MusicgenDecoderConfig Config { get; }

    /// <summary>The final layer norm, which the heads apply to the last layer's output in their product.</summary>
    public LayerNorm LayerNorm { get; }
    public IReadOnlyList<MusicgenDecoderLayer> Layers { get; }

    /// <summary>
    /// How a generation's self-attention keys and values are held (f32, f16 or q8; <see cref="DecoderCache.DefaultType"/>
    /// beside the weights unless asked otherwise): the smaller types cut the cache's memory and the bytes a long
    /// piece's later steps read, at an error far below the low-precision weights' own.
    /// </summary>
    public WeightType CacheType { get; }

    /// <summary>Sees "embed_positions" (the [P + T, D] rows used), each "layers.i" and "layer_norm" as [N, P + T, D].</summary>
    public TensorInspector? Inspector { get; set; }

    /// <summary>
    /// Loads the decoder; its cache in <paramref name="cacheType"/> (null: the default beside the reader's weight
    /// type), made f16 instead of q8 where the width is not whole blocks of 32 (<see cref="DecoderCache.StoredType"/>).
    /// </summary>
    public MusicgenDecoder(IBackend backend, MusicgenDecoderConfig config, WeightReader weights, int? crossAttentionSourceWidth,
        WeightType? cacheType = null)
    {
        _backend = backend;
        Config = config;
        int d = config.HiddenSize;
        _embedTokens = Enumerable.Range(0, config.NumCodebooks)
            .Select(k => backend.Upload(weights.Float($"embed_tokens.{k}.weight", config.VocabSize + 1, d)))
            .ToArray();
        _embedPositions = weights.Contains("embed_positions.weights")
            ? backend.Upload(weights.Float("embed_positions.weights", config.MaxPositionEmbeddings, d))
            : backend.Adopt(MusicgenSinusoidalPositionalEmbedding.Table(config.MaxPositionEmbeddings, d), config.MaxPositionEmbeddings, d);
        Layers = Enumerable.Range(0, config.NumHiddenLayers)
            .Select(i => new MusicgenDecoderLayer(backend, config, weights.Scope($"layers.{i}."), crossAttentionSourceWidth))
            .ToArray();
        LayerNorm = new LayerNorm(backend, weights, "layer_norm", d);
        CacheType = DecoderCache.StoredType(cacheType ?? DecoderCache.DefaultType(weights.MatrixType), d);
    }

    /// <summary>
    /// Runs T new positions of ids [N, K, T] (row-major, as the reference's [N·K, T]) through the decoder, after
    /// the cache's conditioning prefix [N, P, D] on the first call (the melody model prepends its conditioning to
    /// the first step's input); returns the workspace whose Hidden [N·(P + T), D] holds the last layer's output,
    /// before the final <see cref="LayerNorm"/>.
    /// </summary>
    public DecoderWorkspace Forward(DecoderCache cache, ReadOnlySpan<int> ids, int tokens)
    {
        var prefix = cache.Length == 0 ? cache.Prefix : null;
        int batch = cache.Batch, codebooks = Config.NumCodebooks, d = Config.HiddenSize;
        int prefixLength = prefix?.Dim(1) ?? 0, positions = prefixLength + tokens;
        if (ids.Length != batch * codebooks * tokens)
            throw new ArgumentException($"{ids.Length} ids for [{batch}, {codebooks}, {tokens}]");
        if (cache.Length + positions > Config.MaxPositionEmbeddings)
            throw new MusicGenException($"position {cache.Length + positions} is beyond the decoder's {Config.MaxPositionEmbeddings} positions");
        var work = cache.Workspace(positions, d, Config.FfnDim);

        // The token embeddings land in the rows after the prefix; without one they go straight to Hidden.
        var embeddings = prefix is null ? work.Hidden : work.Projected.Slice(0, batch * tokens);
        for (int k = 0; k < codebooks; k++)
        {
            for (int n = 0; n < batch; n++)
                for (int t = 0; t < tokens; t++)
                {
                    int id = ids[(n * codebooks + k) * tokens + t];
                    if ((uint)id > (uint)Config.VocabSize) throw new MusicGenException($"decoder input id {id} is outside 0..{Config.VocabSize}");
                    work.Ids[n * tokens + t] = id;
                }
            _backend.Gather(_embedTokens[k], work.Ids.AsSpan(0, batch * tokens), embeddings, accumulate: k > 0);
        }
        if (prefix is not null)
        {
            long rowStride = (long)positions * d;
            _backend.CopyBlocks(prefix, 0, (long)prefixLength * d, work.Hidden, 0, rowStride, prefixLength * d, batch);
            _backend.CopyBlocks(embeddings, 0, (long)tokens * d, work.Hidden, (long)prefixLength * d, rowStride, tokens * d, batch);
        }
        for (int r = 0; r < work.Rows; r++) work.Positions[r] = cache.Length + r % positions;
        _backend.Gather(_embedPositions, work.Positions, work.Hidden, accumulate: true);
        if (Inspector is not null)
        {
            using var table = _backend.Allocate(positions, d);
            _backend.Gather(_embedPositions, work.Positions.AsSpan(0, positions), table);
            Inspector("embed_positions", table);
        }

        for (int i = 0; i < Layers.Count; i++)
        {
            Layers[i].Forward(cache, i, positions, work);
            Inspector?.Invoke($"layers.{i}", work.Hidden.Reshape(batch, positions, d));
        }
        cache.Advance(positions);
        if (Inspector is not null)
        {
            using var normed = _backend.Allocate(work.Rows, d); // [N·(P + T), D]
            LayerNorm.Forward(work.Hidden, normed);
            Inspector("layer_norm", normed.Reshape(batch, positions, d));
        }
        return work;
    }

    /// <summary>Frees the weights on the device.</summary>
    public void Dispose()
    {
        foreach (var table in _embedTokens) table.Dispose();
        _embedPositions.Dispose();
        LayerNorm.Dispose();
        foreach (var layer in Layers) layer.Dispose();
    }
}
