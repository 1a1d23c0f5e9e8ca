using System.Runtime.InteropServices;
using ILGPU;
using Half = ILGPU.Half;
using ILGPU.Runtime;
using MusicGen.Engine.Tensors;
using MusicGen.Loaders.Checkpoints;

namespace MusicGen.Kernels.Ilgpu;

public sealed partial class IlgpuBackend
{
    /// <summary>
    /// float16 weights stay float16 on the device (half the memory of float32); bf16, q8 and q4 are decoded to
    /// float32 at load (their results are exact, their memory that of float32). Both serve as Linear's weight and
    /// LstmStep's recurrent weight.
    /// </summary>
    public Tensor UploadPacked(PackedMatrix matrix)
    {
        int[] shape = [matrix.Rows, matrix.Columns];
        if (matrix.Type == WeightType.F16)
        {
            var halves = MemoryMarshal.Cast<byte, Half>(matrix.Data);
            var memory = _accelerator.Allocate1D<Half>(Math.Max(1, halves.Length));
            if (!halves.IsEmpty) memory.View.CopyFromCPU(ref MemoryMarshal.GetReference(halves), halves.Length);
            return new Tensor(this, new IlgpuBuffer<Half>(_accelerator, memory), 0, shape, ownsBuffer: true, WeightType.F16);
        }
        var decoded = matrix.Decode();
        var buffer = NewBuffer<float>(shape);
        var tensor = new Tensor(this, buffer, 0, shape, ownsBuffer: true, matrix.Type);
        if (decoded.Length > 0) buffer.Memory.View.CopyFromCPU(ref decoded[0], decoded.Length);
        return tensor;
    }

    /// <summary>A linear weight as float32 for the products: float16 widened into the scratch buffer by one launch.</summary>
    private ArrayView<float> WeightView(Tensor weight)
    {
        if (weight.ElementType != WeightType.F16) return View(weight);
        var widened = _work.Reserve(Math.Max(1, weight.Length)).SubView(0, weight.Length);
        if (weight.Length > 0) _kernels.Widen(checked((int)weight.Length), HalfView(weight), widened);
        return widened;
    }

    /// <summary>The elements of a float16 tensor (a weight matrix or a key/value cache) on this accelerator.</summary>
    private ArrayView<Half> HalfView(Tensor tensor)
    {
        if (tensor.Buffer is not IlgpuBuffer<Half> half || half.Accelerator != _accelerator)
            throw new ArgumentException($"{tensor} is not a float16 tensor of this ILGPU backend");
        return half.Memory.View.SubView(tensor.Offset, tensor.Length);
    }
}
