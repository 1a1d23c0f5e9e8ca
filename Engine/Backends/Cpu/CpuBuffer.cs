using MusicGen.Engine.Tensors;

namespace MusicGen.Engine.Backends.Cpu;

/// <summary>Tensor storage in managed memory; an array from the backend's pool goes back to it once, on Dispose.</summary>
public sealed class CpuBuffer : IDeviceBuffer
{
    private BufferPool? _pool;

    public float[] Data { get; }
    public long Length => Data.Length;

    public CpuBuffer(float[] data) => Data = data;

    internal CpuBuffer(float[] data, BufferPool pool) : this(data) => _pool = pool;

    public void Dispose() => Interlocked.Exchange(ref _pool, null)?.Return(Data);
}
