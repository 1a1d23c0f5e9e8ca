using MusicGen.Engine.Backends;
using MusicGen.Engine.Tensors;
using MusicGen.Loaders.Checkpoints;
using MusicGen.Loaders.Configs;

namespace MusicGen.Engine.Models.T5;

/// <summary>
/// The T5 encoder (modeling_t5.T5EncoderModel): shared token embeddings, the blocks with the first block's
/// relative position bias reused by all, and a final RMS norm.
/// </summary>
public sealed class T5Encoder : IDisposable
{
    private readonly IBackend _backend;
    private readonly Tensor _shared;         // [vocab, d]
    private readonly Tensor _finalLayerNorm; // [d]

    public T5Config Config { get; }
    public IReadOnlyList<T5Block> Blocks { get; }

    /// <summary>Sees the embeddings ("shared"), each block ("encoder.block.i") and the final norm ("encoder.final_layer_norm").</summary>
    public TensorInspector? Inspector { get; set; }

    public T5Encoder(IBackend backend, T5Config config, WeightReader weights)
    {
        _backend = backend;
        Config = config;
        _shared = backend.Upload(weights.Float("shared.weight", config.VocabSize, config.DModel));
        Blocks = Enumerable.Range(0, config.NumLayers)
            .Select(i => new T5Block(backend, config, weights.Scope($"encoder.block.{i}."), hasRelativeAttentionBias: i == 0))
            .ToArray();
        _finalLayerNorm = backend.Upload(weights.Float("encoder.final_layer_norm.weight", config.DModel));
    }

    /// <summary>
    /// Encodes ids [B, T] with attention mask [B, T] (1 on tokens, 0 on padding) to [B, T, d].
    /// </summary>
    public Tensor Forward(ReadOnlySpan<int> ids, ReadOnlySpan<float> attentionMask, int batch, int length)
    {
        foreach (int id in ids)
            if ((uint)id >= (uint)Config.VocabSize)
                throw new MusicGenException($"token id {id} is outside the text encoder's vocabulary of {Config.VocabSize}");
        var hidden = _backend.Allocate(batch, length, Config.DModel);
        _backend.Gather(_shared, ids, hidden.Reshape(batch * length, Config.DModel));
        Inspector?.Invoke("shared", hidden);
        using var keyMask = _backend.Upload(attentionMask, batch, length);
        using var positionBias = Blocks[0].SelfAttention.ComputeBias(length);
        for (int i = 0; i < Blocks.Count; i++)
        {
            var next = Blocks[i].Forward(hidden, positionBias, keyMask);
            hidden.Dispose();
            hidden = next;
            Inspector?.Invoke($"encoder.block.{i}", hidden);
        }
        _backend.RmsNorm(hidden, _finalLayerNorm, hidden, (float)Config.LayerNormEpsilon);
        Inspector?.Invoke("encoder.final_layer_norm", hidden);
        return hidden;
    }

    /// <summary>Frees the weights on the device.</summary>
    public void Dispose()
    {
        _shared.Dispose();
        _finalLayerNorm.Dispose();
        foreach (var block in Blocks) block.Dispose();
    }
}
