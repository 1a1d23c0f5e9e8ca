using MusicGen.Engine.Backends;
using MusicGen.Engine.Tensors;
using MusicGen.Loaders.Checkpoints;

namespace MusicGen.Kernels.OpenCl;

public sealed partial class OpenClBackend
{
    protected override void LinearCore(Tensor x, Tensor weight, Tensor? bias, Tensor y, LinearEpilogue epilogue)
    {
        int n = weight.Dim(0), k = weight.Dim(1);
        int m = checked((int)(x.Length / k));
        Product(KernelArguments.MemoryOf(_cl, x), checked((int)x.Offset), k, weight, bias,
            KernelArguments.MemoryOf(_cl, y), checked((int)y.Offset), m, n, k, epilogue);
    }

    /// <summary>
    /// y[M, N] = x[M, K] · wᵀ + bias (stored as the epilogue says) with rows of x xStride apart, w float32 or packed: the skinny kernel when M is a
    /// decoding step's few rows (bound by reading the weights once), the tiled one otherwise.
    /// </summary>
    private void Product(ClMemHandle x, int xOffset, int xStride, Tensor weight, Tensor? bias, ClMemHandle y, int yOffset, int m, int n, int k,
        LinearEpilogue epilogue = default)
    {
        if (m <= KernelSizes.RowsMaxM)
        {
            const int groupSize = KernelSizes.RowsLanes * KernelSizes.RowsPerGroup;
            _kernels.LinearRows.Start().Memory(x).Int(xOffset).Int(xStride).Weight(weight).Optional(bias, _placeholder)
                .Memory(y).Int(yOffset).Int(m).Int(n).Int(k).Int(epilogue.Code).Int(epilogue.PlaneWidth)
                .Run([Groups((n + KernelSizes.RowsPerGroup - 1) / KernelSizes.RowsPerGroup, groupSize)], [groupSize]);
        }
        else
        {
            _kernels.LinearTiled.Start().Memory(x).Int(xOffset).Int(xStride).Weight(weight).Optional(bias, _placeholder)
                .Memory(y).Int(yOffset).Int(m).Int(n).Int(k).Int(epilogue.Code).Int(epilogue.PlaneWidth)
                .Run([Tiles(n), Tiles(m)], [KernelSizes.TileThreads, KernelSizes.TileThreads]);
        }
    }
}
