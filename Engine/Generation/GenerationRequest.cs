namespace MusicGen.Engine.Generation;

/// <summary>
/// What to generate: one item per prompt (or UnconditionalBatch items without text when there are no prompts),
/// MaxNewTokens decoder steps each, chosen as Sampling says.
/// </summary>
public sealed record GenerationRequest(IReadOnlyList<string> Prompts, int MaxNewTokens, SamplingOptions Sampling, int UnconditionalBatch = 1)
{
    public bool Unconditional => Prompts.Count == 0;
    public int Batch => Unconditional ? UnconditionalBatch : Prompts.Count;
}

/// <summary>
/// Generated codes [Batch, Codebooks, Frames] (stereo: codebooks interleaved L0 R0 L1 R1 …) and the whole
/// delayed sequence [Batch · Codebooks, SequenceLength] they came from.
/// </summary>
public sealed record GenerationResult(int Batch, int Codebooks, int Frames, int[] Codes, int SequenceLength, int[] DelayedIds);
