namespace MusicGen.Engine.Backends.Cpu;

/// <summary>What a thread's reusable work array is for: one operation may need several at once.</summary>
internal enum ScratchSlot { Work, DecodedWeights, TileInput, TileNarrow, TileProduct, RecurrentInput, QuantizedInput }

/// <summary>
/// Reusable work arrays per thread, one per <see cref="ScratchSlot"/>, grown on demand, so that operations in the
/// hot path do not allocate. A caller uses them for the duration of one work item and never holds them across calls.
/// </summary>
internal static class Scratch
{
    private const int Slots = (int)ScratchSlot.QuantizedInput + 1;

    [ThreadStatic] private static float[]?[]? _buffers;

    public static float[] Get(int length, ScratchSlot slot = ScratchSlot.Work)
    {
        ref var buffer = ref (_buffers ??= new float[Slots][])[(int)slot];
        // Grown by half at least: attention's scores grow by a row per decoding step, and an array a few floats
        // longer every step was 64 KiB of garbage per step, which the collector let pile up to hundreds of MB.
        if (buffer is null || buffer.Length < length) buffer = new float[Math.Max(length, Math.Max(1024, (buffer?.Length ?? 0) * 3 / 2))];
        return buffer;
    }
}
