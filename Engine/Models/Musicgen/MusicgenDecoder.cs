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
    // The K codebooks' embed_tokens [vocab + 1, D] stacked, then embed_positions [max_positions, D]: a row's
    // embeddings are one gather of K + 1 rows.
    private readonly Tensor _embeddings; // [K · (vocab + 1) + max_positions, D]
    private readonly int _positionsFrom; // K · (vocab + 1), the first position's row
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
        int tokenRows = config.VocabSize + 1;
        _positionsFrom = config.NumCodebooks * tokenRows;
        var tables = new float[(long)(_positionsFrom + config.MaxPositionEmbeddings) * d];
        for (int k = 0; k < config.NumCodebooks; k++)
            weights.Float($"embed_tokens.{k}.weight", tokenRows, d).Data.CopyTo(tables, (long)k * tokenRows * d);
        var positionTable = weights.Contains("embed_positions.weights")
            ? weights.Float("embed_positions.weights", config.MaxPositionEmbeddings, d).Data
            : MusicgenSinusoidalPositionalEmbedding.Table(config.MaxPositionEmbeddings, d);
        positionTable.CopyTo(tables, (long)_positionsFrom * d);
        _embeddings = backend.Adopt(tables, _positionsFrom + config.MaxPositionEmbeddings, d);
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
        var work = cache.Workspace(positions, d, Config.FfnDim, codebooks);

        // Each new row sums its token's embedding of every codebook and, without a prefix, its position's: one
        // gather straight into Hidden. After a prefix the sums land in the rows after it, which take their
        // positions with the prefix's rows.
        int each = prefix is null ? codebooks + 1 : codebooks, tokenRows = Config.VocabSize + 1;
        var embeddings = prefix is null ? work.Hidden : work.Projected.Slice(0, batch * tokens); // [N·T, D]
        for (int n = 0; n < batch; n++)
            for (int t = 0; t < tokens; t++)
            {
                int row = n * tokens + t;
                for (int k = 0; k < codebooks; k++)
                {
                    int id = ids[(n * codebooks + k) * tokens + t];
                    if ((uint)id > (uint)Config.VocabSize) throw new MusicGenException($"decoder input id {id} is outside 0..{Config.VocabSize}");
                    work.Ids[row * each + k] = k * tokenRows + id;
                }
                if (prefix is null) work.Ids[row * each + codebooks] = _positionsFrom + cache.Length + t;
            }
        _backend.Gather(_embeddings, work.Ids.AsSpan(0, batch * tokens * each), embeddings);
        if (prefix is not null)
        {
            long rowStride = (long)positions * d;
            _backend.CopyBlocks(prefix, 0, (long)prefixLength * d, work.Hidden, 0, rowStride, prefixLength * d, batch);
            _backend.CopyBlocks(embeddings, 0, (long)tokens * d, work.Hidden, (long)prefixLength * d, rowStride, tokens * d, batch);
            for (int r = 0; r < work.Rows; r++) work.Positions[r] = _positionsFrom + cache.Length + r % positions;
            _backend.Gather(_embeddings, work.Positions, work.Hidden, accumulate: true);
        }
        if (Inspector is not null)
        {
            using var table = _backend.Allocate(positions, d);
            for (int p = 0; p < positions; p++) work.Positions[p] = _positionsFrom + cache.Length + p;
            _backend.Gather(_embeddings, work.Positions.AsSpan(0, positions), table);
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
        _embeddings.Dispose();
        LayerNorm.Dispose();
        foreach (var layer in Layers) layer.Dispose();
    }
}
