namespace MusicGen.Engine.Generation;

/// <summary>One-hot chroma [B, Frames, Bins] of the tunes a melody model follows.</summary>
public sealed record MelodyChroma(int Batch, int Frames, int Bins, int[] OneHot);
