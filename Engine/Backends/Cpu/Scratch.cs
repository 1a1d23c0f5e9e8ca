namespace MusicGen.Engine.Backends.Cpu;

/// <summary>What a thread's reusable work array is for: one operation may need several at once.</summary>
internal enum ScratchSlot { Work, DecodedWeights, TileInput, TileNarrow, TileProduct }

/// <summary>
/// Reusable work arrays per thread, one per <see cref="ScratchSlot"/>, grown on demand, so that operations in the
/// hot path do not allocate. A caller uses them for the duration of one work item and never holds them across calls.
/// </summary>
internal static class Scratch
{
    private const int Slots = (int)ScratchSlot.TileProduct + 1;

    [ThreadStatic] private static float[]?[]? _buffers;

    public static float[] Get(int length, ScratchSlot slot = ScratchSlot.Work)
    {
        ref var buffer = ref (_buffers ??= new float[Slots][])[(int)slot];
        if (buffer is null || buffer.Length < length) buffer = new float[Math.Max(length, 1024)];
        return buffer;
    }
}
