using MusicGen.Engine.Tensors;

namespace MusicGen.Kernels.OpenCl;

/// <summary>How tensors become kernel arguments: the buffer, then the element offset (and a presence flag when optional).</summary>
internal static class KernelArguments
{
    public static ClKernel Tensor(this ClKernel kernel, Tensor tensor) =>
        kernel.Memory(MemoryOf(kernel.Context, tensor)).Int(checked((int)tensor.Offset));

    /// <summary>An optional tensor: (buffer, offset, 1), or (placeholder, 0, 0) when absent.</summary>
    public static ClKernel Optional(this ClKernel kernel, Tensor? tensor, ClMemHandle placeholder) =>
        tensor is null ? kernel.Memory(placeholder).Int(0).Int(0) : kernel.Tensor(tensor).Int(1);

    /// <summary>The device buffer of a tensor that lives in this context.</summary>
    public static ClMemHandle MemoryOf(ClContext context, Tensor tensor)
    {
        if (tensor.Buffer is not ClBuffer buffer || buffer.Context != context)
            throw new ArgumentException($"{tensor} does not live on this OpenCL backend");
        return buffer.Memory;
    }
}
