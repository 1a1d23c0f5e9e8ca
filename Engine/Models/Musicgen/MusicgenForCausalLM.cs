using MusicGen.Engine.Backends;
using MusicGen.Engine.Tensors;
using MusicGen.Loaders.Checkpoints;
using MusicGen.Loaders.Configs;

namespace MusicGen.Engine.Models.Musicgen;

/// <summary>
/// The decoder with its K language-model heads (modeling_musicgen.MusicgenForCausalLM). The heads are stacked
/// into one [K·V, D] matrix at load, so one product gives every codebook's logits.
/// </summary>
public sealed class MusicgenForCausalLM
{
    private readonly IBackend _backend;
    private readonly Tensor _lmHeads; // [K · V, D]

    public MusicgenDecoder Decoder { get; }
    public MusicgenDecoderConfig Config => Decoder.Config;

    public MusicgenForCausalLM(IBackend backend, MusicgenDecoderConfig config, WeightReader weights, int? crossAttentionSourceWidth)
    {
        _backend = backend;
        Decoder = new MusicgenDecoder(backend, config, weights.Scope("model.decoder."), crossAttentionSourceWidth);
        int vocabulary = config.VocabSize, d = config.HiddenSize;
        var heads = new float[config.NumCodebooks * vocabulary * d];
        for (int k = 0; k < config.NumCodebooks; k++)
            weights.Float($"lm_heads.{k}.weight", vocabulary, d).Data.CopyTo(heads, k * vocabulary * d);
        _lmHeads = backend.Upload(heads, config.NumCodebooks * vocabulary, d);
    }

    /// <summary>
    /// Logits [N, T, K·V] of every new position into logits (allocated by the caller as [N·T, K·V]), or with
    /// lastOnly those of the last position, [N, K·V].
    /// </summary>
    public void Forward(DecoderCache cache, ReadOnlySpan<int> ids, int tokens, Tensor logits, bool lastOnly, Action<string, Tensor>? observe = null)
    {
        var work = Decoder.Forward(cache, ids, tokens, observe);
        int d = Config.HiddenSize;
        if (!lastOnly || tokens == 1)
        {
            _backend.Linear(work.Hidden, _lmHeads, null, logits);
            return;
        }
        // The last position of each row, gathered into the Normed rows [N, D].
        var last = work.Normed.Slice(0, cache.Batch);
        _backend.CopyBlocks(work.Hidden, (long)(tokens - 1) * d, (long)tokens * d, last, 0, d, d, cache.Batch);
        _backend.Linear(last, _lmHeads, null, logits);
    }
}
