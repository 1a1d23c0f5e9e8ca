using MusicGen.Engine.Backends;
using MusicGen.Engine.Tensors;
using MusicGen.Loaders.Checkpoints;
using MusicGen.Loaders.Configs;

namespace MusicGen.Engine.Models.Musicgen;

/// <summary>
/// The decoder with its K language-model heads (modeling_musicgen.MusicgenForCausalLM). The heads are stacked
/// into one [K·V, D] matrix at load, so one product gives every codebook's logits, the decoder's final layer norm
/// as its prologue.
/// </summary>
public sealed class MusicgenForCausalLM : IDisposable
{
    private readonly IBackend _backend;
    private readonly Tensor _lmHeads; // [K · V, D]
    private TensorInspector? _inspector;

    public MusicgenDecoder Decoder { get; }
    public MusicgenDecoderConfig Config => Decoder.Config;

    /// <summary>Sees the decoder's tensors as "model.decoder.…".</summary>
    public TensorInspector? Inspector
    {
        get => _inspector;
        set
        {
            _inspector = value;
            Decoder.Inspector = value.Scoped("model.decoder.");
        }
    }

    /// <summary>Loads the decoder (its cache in <paramref name="cacheType"/>, see <see cref="MusicgenDecoder"/>) and the heads.</summary>
    public MusicgenForCausalLM(IBackend backend, MusicgenDecoderConfig config, WeightReader weights, int? crossAttentionSourceWidth,
        WeightType? cacheType = null)
    {
        _backend = backend;
        Decoder = new MusicgenDecoder(backend, config, weights.Scope("model.decoder."), crossAttentionSourceWidth, cacheType);
        int vocabulary = config.VocabSize, d = config.HiddenSize;
        var heads = Enumerable.Range(0, config.NumCodebooks).Select(k => $"lm_heads.{k}.weight").ToList();
        _lmHeads = backend.UploadMatrix(weights, heads, vocabulary, d);
    }

    /// <summary>
    /// Logits of every new position into logits (allocated by the caller as [N·(P + T), K·V]), or with lastOnly
    /// those of the last position, [N, K·V]; P is the length of the cache's conditioning prefix on the first call.
    /// </summary>
    public void Forward(DecoderCache cache, ReadOnlySpan<int> ids, int tokens, Tensor logits, bool lastOnly)
    {
        var work = Decoder.Forward(cache, ids, tokens);
        int d = Config.HiddenSize, positions = work.Tokens;
        if (!lastOnly || positions == 1)
        {
            Decoder.LayerNorm.ThenLinear(work.Hidden, _lmHeads, null, logits); // [N·(P + T), K·V]
            return;
        }
        // The last position of each row, gathered into the Normed rows [N, D] (the norm is per row: normed in the product).
        var last = work.Normed.Slice(0, cache.Batch);
        _backend.CopyBlocks(work.Hidden, (long)(positions - 1) * d, (long)positions * d, last, 0, d, d, cache.Batch);
        Decoder.LayerNorm.ThenLinear(last, _lmHeads, null, logits); // [N, K·V]
    }

    /// <summary>Frees the weights on the device.</summary>
    public void Dispose()
    {
        _lmHeads.Dispose();
        Decoder.Dispose();
    }
}
