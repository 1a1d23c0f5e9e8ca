using MusicGen.Engine.Tensors;

namespace MusicGen.Engine.Backends.Cpu;

/// <summary>Tensor storage in managed memory.</summary>
public sealed class CpuBuffer : IDeviceBuffer
{
    public float[] Data { get; }
    public long Length => Data.Length;

    public CpuBuffer(float[] data) => Data = data;

    public void Dispose() { }
}
