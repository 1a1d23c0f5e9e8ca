using ILGPU;
using ILGPU.Runtime;
using MusicGen.Engine.Backends;
using MusicGen.Engine.Tensors;

namespace MusicGen.Kernels.Ilgpu;

public sealed partial class IlgpuBackend
{
    protected override void LinearCore(Tensor x, Tensor weight, Tensor? bias, Tensor y, LinearEpilogue epilogue)
    {
        int n = weight.Dim(0), k = weight.Dim(1);
        int m = k == 0 ? 0 : checked((int)(x.Length / k));
        Product(View(x), k, weight, Optional(bias), View(y), m, n, k, epilogue);
    }

    protected override void LayerNormLinearCore(Tensor x, Tensor normWeight, Tensor? normBias, float eps, Tensor weight, Tensor? bias, Tensor y,
        LinearEpilogue epilogue)
    {
        int n = weight.Dim(0), k = weight.Dim(1);
        int m = checked((int)(x.Length / k));
        Product(View(x), k, weight, Optional(bias), View(y), m, n, k, epilogue,
            new RowNorm { Weight = View(normWeight), Bias = Optional(normBias), Eps = eps });
    }

    /// <summary>
    /// y[M, N] = x[M, K] · wᵀ + bias (stored as the epilogue says) with rows of x xStride apart, normalized first when a
    /// norm is given: the skinny kernel when M is a decoding step's few rows (bound by reading the weights once,
    /// normalizing as it reads), the tiled one otherwise (after a norm launch of its own into the work scratch).
    /// </summary>
    private void Product<TWeights>(LinearKernels<TWeights> kernels, ArrayView<float> x, int xStride, TWeights weight, ArrayView<float> bias,
        ArrayView<float> y, int m, int n, int k, LinearEpilogue epilogue, RowNorm norm) where TWeights : struct, IWeightMatrix
    {
        if (m == 0 || n == 0) return;
        if (m <= LaunchSizes.SkinnyMaxRows)
        {
            int rowsPerGroup = _sizes.Group / _sizes.WarpSize;
            var config = new KernelConfig(new Index2D(DivideUp(n, rowsPerGroup), DivideUp(m, LaunchSizes.RowsPerPass)), new Index2D(_sizes.Group, 1));
            kernels.Skinny(config, x, norm, weight, bias, y, new SkinnyShape { M = m, N = n, K = k, XStride = xStride, Epilogue = epilogue.Code, PlaneWidth = epilogue.PlaneWidth });
        }
        else
        {
            if (norm.Normalizes)
            {
                var normed = _work.Reserve((long)m * k);
                _kernels.LayerNorm(Groups(m, _sizes.Group), x.SubView(0, (long)m * k), norm.Weight, norm.Bias, normed, k, norm.Eps);
                (x, xStride) = (normed, k);
            }
            var operands = new LinearOperands<TWeights> { X = x, Weight = weight, Bias = bias, Y = y, M = m, N = n, K = k, XStride = xStride, Epilogue = epilogue.Code, PlaneWidth = epilogue.PlaneWidth };
            kernels.Tiled(Tiles(n, m, 1), operands);
        }
    }

    /// <summary>A tiled product's launch: (column tiles, row tiles, z) groups of TileThreads² threads.</summary>
    private KernelConfig Tiles(int columns, int rows, int z) =>
        new(new Index3D(DivideUp(columns, _sizes.Tile), DivideUp(rows, _sizes.Tile), z), new Index3D(_sizes.TileThreads, _sizes.TileThreads, 1));
}
