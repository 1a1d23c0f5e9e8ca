using MusicGen.Engine.Tensors;
using MusicGen.Kernels.OpenCl;

namespace MusicGen.Kernels;

/// <summary>Tensor storage in device memory: one OpenCL buffer of float32 elements, owned by the tensor that allocated it.</summary>
public sealed class ClBuffer : IDeviceBuffer
{
    internal ClMemHandle Memory { get; }
    /// <summary>The context the buffer was made in: kernels of another context cannot use it.</summary>
    internal ClContext Context { get; }
    public long Length { get; }

    internal ClBuffer(ClContext context, ClMemHandle memory, long length)
    {
        Context = context;
        Memory = memory;
        Length = length;
    }

    public void Dispose() => Memory.Dispose();
}
