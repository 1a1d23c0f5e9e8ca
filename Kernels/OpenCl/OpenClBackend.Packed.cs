using MusicGen.Engine.Tensors;
using MusicGen.Loaders.Checkpoints;

namespace MusicGen.Kernels.OpenCl;

public sealed partial class OpenClBackend
{
    /// <summary>The packed bytes as they are, in one device buffer; kernels convert weights as they read them.</summary>
    public unsafe Tensor UploadPacked(PackedMatrix matrix)
    {
        ClMemHandle memory;
        fixed (byte* p = matrix.Data) memory = _cl.CreateBuffer(Math.Max(1, matrix.Data.LongLength), matrix.Data.Length == 0 ? null : p);
        return Own(memory, matrix.Data.LongLength, matrix.Data.LongLength, [matrix.Rows, matrix.Columns], matrix.Type);
    }

    /// <summary>
    /// y[M, N] = x[M, K] · Wᵀ + bias for a packed W, rows of x xStride apart: the skinny kernel converts weights as
    /// it streams them; wider products unpack W into the scratch buffer as float32 for the tiled kernel.
    /// </summary>
    private void PackedProduct(ClMemHandle x, int xOffset, int xStride, Tensor weight, Tensor? bias, ClMemHandle y, int yOffset, int m, int n, int k)
    {
        var w = KernelArguments.MemoryOf(_cl, weight);
        int type = PackedTypeCode(weight.ElementType), scalesAt = checked((int)PackedMatrix.ScalesAt(weight.ElementType, n, k));
        if (m <= KernelSizes.RowsMaxM)
        {
            const int groupSize = KernelSizes.RowsLanes * KernelSizes.RowsPerGroup;
            _kernels.LinearPackedRows.Start().Memory(x).Int(xOffset).Int(xStride).Memory(w).Int(type).Int(scalesAt)
                .Optional(bias, _placeholder).Memory(y).Int(yOffset).Int(m).Int(n).Int(k)
                .Run([Groups((n + KernelSizes.RowsPerGroup - 1) / KernelSizes.RowsPerGroup, groupSize)], [groupSize]);
            return;
        }
        var unpacked = _work.Reserve((long)n * k * sizeof(float));
        long items = (long)n * ((k + 3) / 4);
        _kernels.UnpackWeights.Start().Memory(w).Int(type).Int(scalesAt).Memory(unpacked).Int(n).Int(k)
            .Run([KernelSizes.RoundUp(items, KernelSizes.ElementThreads)], [KernelSizes.ElementThreads]);
        _kernels.LinearTiled.Start().Memory(x).Int(xOffset).Int(xStride).Memory(unpacked).Int(0)
            .Optional(bias, _placeholder).Memory(y).Int(yOffset).Int(m).Int(n).Int(k)
            .Run([Tiles(n), Tiles(m)], [KernelSizes.TileThreads, KernelSizes.TileThreads]);
    }

    /// <summary>The PACKED_* codes of packed.cl.</summary>
    private static int PackedTypeCode(WeightType type) => type switch
    {
        WeightType.F16 => 1,
        WeightType.BF16 => 2,
        WeightType.Q8 => 3,
        WeightType.Q4 => 4,
        _ => throw new ArgumentOutOfRangeException(nameof(type)),
    };
}
