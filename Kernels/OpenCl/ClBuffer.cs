using MusicGen.Engine.Tensors;

namespace MusicGen.Kernels.OpenCl;

/// <summary>Tensor storage in device memory: one OpenCL buffer of float32 elements, owned by the tensor that allocated it.</summary>
public sealed class ClBuffer : IDeviceBuffer
{
    internal ClMemHandle Memory { get; }
    /// <summary>The context the buffer was made in: kernels of another context cannot use it.</summary>
    internal ClContext Context { get; }
    public long Length { get; }
    private readonly Action _released;

    internal ClBuffer(ClContext context, ClMemHandle memory, long length, Action released)
    {
        Context = context;
        Memory = memory;
        Length = length;
        _released = released;
    }

    public void Dispose()
    {
        if (Memory.IsClosed) return;
        Memory.Dispose();
        _released();
    }
}
