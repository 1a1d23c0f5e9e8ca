namespace MusicGen.Engine.Backends.Cpu;

/// <summary>
/// One reusable work array per thread, grown on demand, so that operations in the hot path do not allocate.
/// A caller uses it for the duration of one work item and never holds it across calls.
/// </summary>
internal static class Scratch
{
    [ThreadStatic] private static float[]? _buffer;

    public static float[] Get(int length)
    {
        if (_buffer is null || _buffer.Length < length) _buffer = new float[Math.Max(length, 1024)];
        return _buffer;
    }
}
