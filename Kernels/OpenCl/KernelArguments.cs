using MusicGen.Engine.Tensors;
using MusicGen.Loaders.Checkpoints;

namespace MusicGen.Kernels.OpenCl;

/// <summary>How tensors become kernel arguments: the buffer, then the element offset (and a presence flag when optional).</summary>
internal static class KernelArguments
{
    public static ClKernel Tensor(this ClKernel kernel, Tensor tensor) =>
        kernel.Memory(MemoryOf(kernel.Context, tensor)).Int(checked((int)tensor.Offset));

    /// <summary>
    /// A linear layer's weight matrix [n, k] in its stored type, as packed.cl reads it: (buffer, element offset, type
    /// code, byte where the scales of q8 and q4 start).
    /// </summary>
    public static ClKernel Weight(this ClKernel kernel, Tensor weight) =>
        kernel.Tensor(weight).Int(OpenClBackend.WeightTypeCode(weight.ElementType))
            .Int(weight.ElementType == WeightType.F32 ? 0 : checked((int)PackedMatrix.ScalesAt(weight.ElementType, weight.Dim(0), weight.Dim(1))));

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
