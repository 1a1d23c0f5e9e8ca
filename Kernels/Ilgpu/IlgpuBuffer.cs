using ILGPU;
using ILGPU.Runtime;
using MusicGen.Engine.Tensors;

namespace MusicGen.Kernels.Ilgpu;

/// <summary>
/// Tensor storage in an ILGPU accelerator's memory, owned by the tensor that allocated it: float32 elements, or
/// float16 ones (a float16 weight matrix or key/value cache).
/// </summary>
public sealed class IlgpuBuffer<T> : IDeviceBuffer where T : unmanaged
{
    internal MemoryBuffer1D<T, Stride1D.Dense> Memory { get; }
    /// <summary>The accelerator the buffer lives on: kernels of another accelerator cannot use it.</summary>
    internal Accelerator Accelerator { get; }
    public long Length => Memory.Length;

    internal IlgpuBuffer(Accelerator accelerator, MemoryBuffer1D<T, Stride1D.Dense> memory)
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
