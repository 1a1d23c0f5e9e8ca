using MusicGen.Engine.Audio;
using MusicGen.Engine.Codec;

namespace MusicGen.Engine;

/// <summary>
/// Receives what a generation makes while it makes it: the codes of each frame as soon as every codebook has it,
/// and the audio, in chunks while the piece is generated or whole at the end
/// (<see cref="MusicgenPipeline.Generate(GenerationPlan, GenerationSink, IProgress{GenerationProgress}?, CancellationToken)"/>).
/// Its methods run on the generating thread.
/// </summary>
public abstract class GenerationSink
{
    /// <summary>
    /// Frames decoded to audio at a time while the piece is generated (fewer cost more of the codec's context
    /// recomputed), or null for the whole piece's audio in one chunk once its codes are complete, decoded as the
    /// reference decodes it.
    /// </summary>
    public virtual int? ChunkFrames => null;

    /// <summary>The codes [B, C, K', n] of frames [first, first + n) of the piece, in order, the prompt's included.</summary>
    public virtual void OnCodes(CodesBatch codes, int first) { }

    /// <summary>
    /// The next audio [B, C, samples] of the piece, in order: one after another, the chunks are the piece. Each
    /// chunk's Starts mark what of an item's left padding (of a shorter audio prompt) it holds.
    /// </summary>
    public abstract void OnAudio(AudioBatch chunk);
}
