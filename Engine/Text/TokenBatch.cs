namespace MusicGen.Engine.Text;

/// <summary>
/// Token ids for several texts, padded on the right to the longest. Both arrays are row-major [BatchSize, Length];
/// the attention mask is 1 on real tokens and 0 on padding.
/// </summary>
public sealed record TokenBatch(int BatchSize, int Length, long[] InputIds, long[] AttentionMask);
