using MusicGen.Engine.Models.Encodec;
using MusicGen.Engine.Models.T5;
using MusicGen.Engine.Tensors;
using MusicGen.Loaders.Configs;

namespace MusicGen.Engine.Models.Musicgen;

/// <summary>
/// What one generation is conditioned on, for B items, before the null half of classifier-free guidance is
/// added: the text encoder's states [B, S, d_text] with their mask [B·S] (null states: no text), and for a
/// melody model the one-hot chroma [B, frames, num_chroma] of a tune (null: no tune).
/// </summary>
public sealed record MusicgenConditioning(int Batch, Tensor? TextStates, float[] TextMask, int[]? Chroma, int ChromaFrames, bool Guidance)
{
    /// <summary>Rows the decoder runs: the items, then as many null items when guidance is on.</summary>
    public int DecoderBatch => Guidance ? 2 * Batch : Batch;
}

/// <summary>
/// The parts of a MusicGen model that generation uses, for the text-conditioned and the melody variants, and
/// what each variant can do. Disposing it frees its weights on the device.
/// </summary>
public interface IMusicgenModel : IDisposable
{
    MusicgenConfig Config { get; }
    T5Encoder TextEncoder { get; }
    MusicgenForCausalLM Decoder { get; }
    EncodecModel AudioEncoder { get; }

    /// <summary>
    /// The decoder's cache for a generation of up to <paramref name="positions"/> token positions, holding the
    /// conditioning in whatever form the model uses.
    /// </summary>
    DecoderCache StartDecoding(MusicgenConditioning conditioning, int positions);

    /// <summary>
    /// Decoder positions the conditioning takes before the first token: the melody model's chroma_length (its
    /// text adds the prompt's tokens), 0 for cross-attention.
    /// </summary>
    int ConditioningPositions { get; }

    /// <summary>Whether generation can continue an audio prompt (the melody model, as in the reference, cannot).</summary>
    bool AcceptsAudioPrompts { get; }

    /// <summary>Whether generation can follow the chroma of a melody.</summary>
    bool AcceptsMelodies { get; }

    /// <summary>
    /// Sees the tensors every part of the model computes, named by the reference's module paths
    /// ("text_encoder.encoder.block.0", "decoder.model.decoder.layers.3", "audio_encoder.decoder.layers.2",
    /// "enc_to_dec_proj", …); null (the default) costs nothing.
    /// </summary>
    TensorInspector? Inspector { get; set; }
}
