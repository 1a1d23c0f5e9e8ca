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

    protected override void LayerNormLinearCore(Tensor x, Tensor normWeight, Tensor? normBias, float eps, Tensor weight, Tensor? bias, Tensor y,
        LinearEpilogue epilogue)
    {
        int n = weight.Dim(0), k = weight.Dim(1);
        int m = checked((int)(x.Length / k));
        if (m <= KernelSizes.RowsMaxM)
        {
            Product(KernelArguments.MemoryOf(_cl, x), checked((int)x.Offset), k, weight, bias,
                KernelArguments.MemoryOf(_cl, y), checked((int)y.Offset), m, n, k, epilogue, new RowNorm(normWeight, normBias, eps));
            return;
        }
        // The tiled product keeps a norm launch of its own, into the work scratch.
        var normed = _work.Reserve(x.Length * sizeof(float));
        _kernels.LayerNorm.Start().Tensor(x).Tensor(normWeight).Optional(normBias, _placeholder).Memory(normed).Int(0).Int(k).Float(eps)
            .Run([Groups(m, KernelSizes.ReduceThreads)], [KernelSizes.ReduceThreads]);
        Product(normed, 0, k, weight, bias, KernelArguments.MemoryOf(_cl, y), checked((int)y.Offset), m, n, k, epilogue);
    }

    /// <summary>The norm the skinny product applies to the rows of x as it reads them (<see cref="IBackend.LayerNormLinear"/>).</summary>
    private readonly record struct RowNorm(Tensor Weight, Tensor? Bias, float Eps);

    /// <summary>
    /// y[M, N] = x[M, K] · wᵀ + bias (stored as the epilogue says) with rows of x xStride apart, w float32 or packed: the skinny kernel when M is a
    /// decoding step's few rows (bound by reading the weights once, normalizing them as it reads when a norm is given), the tiled one otherwise.
    /// </summary>
    private void Product(ClMemHandle x, int xOffset, int xStride, Tensor weight, Tensor? bias, ClMemHandle y, int yOffset, int m, int n, int k,
        LinearEpilogue epilogue = default, RowNorm? norm = null)
    {
        if (m <= KernelSizes.RowsMaxM)
        {
            const int groupSize = KernelSizes.RowsLanes * KernelSizes.RowsPerGroup;
            _kernels.LinearRows.Start().Memory(x).Int(xOffset).Int(xStride)
                .Optional(norm?.Weight, _placeholder).Optional(norm?.Bias, _placeholder).Float(norm?.Eps ?? 0f)
                .Weight(weight).Optional(bias, _placeholder)
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
