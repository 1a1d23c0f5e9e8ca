using MusicGen.Engine.Codec;

namespace MusicGen.Engine.Generation;

/// <summary>
/// Generated codes [B, channels, codebooks, frames], the first PromptFrames of them those of the prompt, and the
/// last window's whole delayed sequence [B · K, SequenceLength] they came from (K decoder codebooks, see
/// <see cref="CodebookLayout"/>).
/// </summary>
public sealed record GenerationResult(CodesBatch Codes, int PromptFrames, int SequenceLength, int[] DelayedIds);
