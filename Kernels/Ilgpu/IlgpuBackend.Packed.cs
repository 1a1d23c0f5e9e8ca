using System.Runtime.InteropServices;
using ILGPU;
using Half = ILGPU.Half;
using ILGPU.Runtime;
using MusicGen.Engine.Backends;
using MusicGen.Engine.Tensors;
using MusicGen.Loaders.Checkpoints;

namespace MusicGen.Kernels.Ilgpu;

public sealed partial class IlgpuBackend
{
    /// <summary>
    /// The packed bytes as they are, in one device buffer, whatever the type: the product kernels decode them as
    /// they stream them (<see cref="IWeightMatrix"/>), so a matrix takes the memory of its stored type.
    /// </summary>
    public override Tensor UploadPacked(PackedMatrix matrix)
    {
        var memory = _accelerator.Allocate1D<byte>(Math.Max(1, matrix.Data.LongLength));
        var buffer = new IlgpuBuffer<byte>(_accelerator, memory, _ledger, MemoryUse.Weights);
        if (matrix.Data.Length > 0) memory.View.BaseView.CopyFromCPU((ReadOnlySpan<byte>)matrix.Data);
        return new Tensor(this, buffer, 0, [matrix.Rows, matrix.Columns], ownsBuffer: true, matrix.Type);
    }

    /// <summary>
    /// y[M, N] = x[M, K] · wᵀ + bias (stored as the epilogue says, x normalized first when a norm is given) for a weight w[N, K] of any stored type, rows of x xStride apart: the products
    /// compiled for the weight's type read it as stored.
    /// </summary>
    private void Product(ArrayView<float> x, int xStride, Tensor weight, ArrayView<float> bias, ArrayView<float> y, int m, int n, int k,
        LinearEpilogue epilogue = default, RowNorm norm = default)
    {
        if (weight.ElementType == WeightType.F32)
        {
            Product(_kernels.Float32, x, xStride, new Float32Weights(View(weight), k), bias, y, m, n, k, epilogue, norm);
            return;
        }
        var bytes = PackedView(weight);
        switch (weight.ElementType)
        {
            case WeightType.F16:
                Product(_kernels.Float16, x, xStride, new Float16Weights(bytes.Cast<Half>(), k), bias, y, m, n, k, epilogue, norm);
                break;
            case WeightType.BF16:
                Product(_kernels.BFloat16, x, xStride, new BFloat16Weights(bytes.Cast<ushort>(), k), bias, y, m, n, k, epilogue, norm);
                break;
            case WeightType.Q8:
                var (q8, q8Scales) = ValuesAndScales(bytes, WeightType.Q8, n, k);
                Product(_kernels.Q8, x, xStride, new Q8Weights(q8, q8Scales, k), bias, y, m, n, k, epilogue, norm);
                break;
            case WeightType.Q4:
                var (q4, q4Scales) = ValuesAndScales(bytes, WeightType.Q4, n, k);
                Product(_kernels.Q4, x, xStride, new Q4Weights(q4, q4Scales, k), bias, y, m, n, k, epilogue, norm);
                break;
            default:
                throw new ArgumentException($"{weight} is not a weight matrix");
        }
    }

    /// <summary>A q8 or q4 matrix's values as 32-bit words, and its float32 scales.</summary>
    private static (ArrayView<int> Words, ArrayView<float> Scales) ValuesAndScales(ArrayView<byte> bytes, WeightType type, int n, int k)
    {
        long scalesAt = PackedMatrix.ScalesAt(type, n, k);
        if (scalesAt == 0) return (ArrayView<int>.Empty, ArrayView<float>.Empty);
        return (bytes.SubView(0, scalesAt).Cast<int>(), bytes.SubView(scalesAt, bytes.Length - scalesAt).Cast<float>());
    }

    /// <summary>The bytes of a packed weight matrix of this backend (<see cref="UploadPacked"/>).</summary>
    private ArrayView<byte> PackedView(Tensor tensor)
    {
        if (tensor.Buffer is not IlgpuBuffer<byte> packed || packed.Accelerator != _accelerator)
            throw new ArgumentException($"{tensor} is not a packed weight matrix of this ILGPU backend");
        return packed.Memory.View.SubView(0, tensor.ElementType.ByteCount(tensor.Dim(0), tensor.Dim(1)));
    }

    /// <summary>The elements of a float16 key/value cache on this accelerator.</summary>
    private ArrayView<Half> HalfView(Tensor tensor)
    {
        if (tensor.Buffer is not IlgpuBuffer<Half> half || half.Accelerator != _accelerator)
            throw new ArgumentException($"{tensor} is not a float16 tensor of this ILGPU backend");
        return half.Memory.View.SubView(tensor.Offset, tensor.Length);
    }
}
