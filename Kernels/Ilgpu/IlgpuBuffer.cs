using ILGPU;
using ILGPU.Runtime;
using MusicGen.Engine.Tensors;

namespace MusicGen.Kernels.Ilgpu;

/// <summary>Tensor storage in an ILGPU accelerator's memory: one buffer of float32 elements, owned by the tensor that allocated it.</summary>
public sealed class IlgpuBuffer : IDeviceBuffer
{
    internal MemoryBuffer1D<float, Stride1D.Dense> Memory { get; }
    /// <summary>The accelerator the buffer lives on: kernels of another accelerator cannot use it.</summary>
    internal Accelerator Accelerator { get; }
    public long Length => Memory.Length;

    internal IlgpuBuffer(Accelerator accelerator, MemoryBuffer1D<float, Stride1D.Dense> memory)
    {
        Accelerator = accelerator;
        Memory = memory;
    }

    /// <summary>Frees the memory once the kernels queued before have run: one may still use it.</summary>
    public void Dispose()
    {
        Accelerator.Synchronize();
        Memory.Dispose();
    }
}
