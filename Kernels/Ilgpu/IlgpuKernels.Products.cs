using ILGPU;
using ILGPU.Algorithms;
using ILGPU.Algorithms.ScanReduceOperations;

namespace MusicGen.Kernels.Ilgpu;

/// <summary>
/// A matrix product C[row, column] = Σ_r Left(row, r) · Right(r, column) as the tiled kernel sees it: linear layers,
/// convolutions and transposed convolutions differ only in where their operands come from and where results go
/// (implicit products, no im2col buffer). Z numbers independent products (batch rows, phases).
/// </summary>
internal interface IProductOperands
{
    int Rows { get; }
    int Columns { get; }
    int Depth { get; }
    /// <summary>Whether Right is read along the reduction (rows of a weight) rather than along columns (frames).</summary>
    bool RightAlongDepth { get; }
    float Left(int row, int r, int z);
    float Right(int r, int column, int z);
    void Store(int row, int column, int z, float value);
}

/// <summary>
/// y[M, N] = x[M, K] · w[N, K]ᵀ + bias, rows of x XStride apart (the LSTM passes strided rows of its output); w is
/// read in its stored type.
/// </summary>
internal struct LinearOperands<TWeights> : IProductOperands where TWeights : struct, IWeightMatrix
{
    public ArrayView<float> X, Bias, Y;
    public TWeights Weight;
    public int M, N, K, XStride, Epilogue, PlaneWidth;

    public readonly int Rows => M;
    public readonly int Columns => N;
    public readonly int Depth => K;
    public readonly bool RightAlongDepth => true;
    public readonly float Left(int row, int r, int z) => X[(long)row * XStride + r];
    public readonly float Right(int r, int column, int z) => Weight.Load(column, r);
    public readonly void Store(int row, int column, int z, float value) =>
        IlgpuKernels.StoreResult(Y, IlgpuKernels.OutputIndex(row, column, M, N, PlaneWidth), value + (Bias.Length > 0 ? Bias[column] : 0f), Epilogue);
}

/// <summary>y[b, co, t] = bias[co] + Σ_{ci,tap} w[co, ci, tap] · x[b, ci, t·stride + tap·dilation]; z is the batch row.</summary>
internal struct Conv1dOperands : IProductOperands
{
    public ArrayView<float> X, Weight, Bias, Y;
    public int InChannels, InLength, OutChannels, OutLength, KernelSize, Stride, Dilation;

    public readonly int Rows => OutChannels;
    public readonly int Columns => OutLength;
    public readonly int Depth => InChannels * KernelSize;
    public readonly bool RightAlongDepth => false;
    public readonly float Left(int row, int r, int z) => Weight[(long)row * Depth + r];
    public readonly float Right(int r, int column, int z) =>
        X[((long)z * InChannels + r / KernelSize) * InLength + column * Stride + r % KernelSize * Dilation];
    public readonly void Store(int row, int column, int z, float value) =>
        Y[((long)z * OutChannels + row) * OutLength + column] = value + (Bias.Length > 0 ? Bias[row] : 0f);
}

/// <summary>
/// Transposed convolution over the polyphase weight W[(p, co), (ci, m)] (ConvTransposeWeights): output frame
/// q·stride + p is Σ_{ci,m} x[ci, q − m] · W[(p, co), (ci, m)], an ordinary product per phase p. z is
/// (batch row, phase); columns are input frames q from FirstFrame; outputs outside [TrimLeft, TrimLeft + OutLength)
/// are not written.
/// </summary>
internal struct ConvTranspose1dOperands : IProductOperands
{
    public ArrayView<float> X, Weight, Bias, Y;
    public int InChannels, InLength, OutChannels, OutLength, Taps, Stride, TrimLeft, FirstFrame, EndFrame;

    public readonly int Rows => OutChannels;
    public readonly int Columns => EndFrame - FirstFrame;
    public readonly int Depth => InChannels * Taps;
    public readonly bool RightAlongDepth => false;
    public readonly float Left(int row, int r, int z) => Weight[((long)(z % Stride) * OutChannels + row) * Depth + r];

    public readonly float Right(int r, int column, int z)
    {
        int frame = FirstFrame + column - r % Taps;
        return frame >= 0 && frame < InLength ? X[((long)(z / Stride) * InChannels + r / Taps) * InLength + frame] : 0f;
    }

    public readonly void Store(int row, int column, int z, float value)
    {
        int t = (FirstFrame + column) * Stride + z % Stride - TrimLeft;
        if (t >= 0 && t < OutLength)
            Y[((long)(z / Stride) * OutChannels + row) * OutLength + t] = value + (Bias.Length > 0 ? Bias[row] : 0f);
    }
}

/// <summary>The sizes of a skinny product: y[M, N] = x[M, K] · w[N, K]ᵀ + bias with rows of x XStride apart.</summary>
internal struct SkinnyShape
{
    public int M, N, K, XStride;
    /// <summary>A <see cref="Engine.Backends.LinearEpilogue"/>'s code and plane width.</summary>
    public int Epilogue, PlaneWidth;
}

/// <summary>
/// The LayerNorm a skinny product applies to its rows of x as it reads them (<see cref="Engine.Backends.IBackend.LayerNormLinear"/>):
/// (x − mean) / √(var + Eps) · Weight + Bias, or none when Weight is empty.
/// </summary>
internal struct RowNorm
{
    public ArrayView<float> Weight, Bias;
    public float Eps;

    public readonly bool Normalizes => Weight.Length > 0;

    /// <summary>x[at] normalized as element i of a row with that mean and inverse deviation, or as it is without a norm.</summary>
    public readonly float Apply(float value, int i, float mean, float inverse) =>
        Normalizes ? (value - mean) * inverse * Weight[i] + (Bias.Length > 0 ? Bias[i] : 0f) : value;
}

internal static partial class IlgpuKernels
{
    /// <summary>
    /// The tiled product: a group of T × T threads computes a 2T × 2T block of outputs, TileDepth reduction steps
    /// at a time. Both operand tiles sit in shared memory reduction-major (left[kk, row], right[kk, column]); each
    /// thread owns 2 × 2 outputs strided by T, so in the inner loop threads of one row read the same left word (a
    /// broadcast) and consecutive threads read consecutive right words. Rows are padded by one word so stores of
    /// consecutive reduction steps do not fall into one bank. Grid: (column tiles, row tiles, Z).
    /// </summary>
    public static void TiledProduct<T>(T operands) where T : struct, IProductOperands
    {
        const int depthStep = LaunchSizes.TileDepth;
        var left = SharedMemory.Allocate<float>(depthStep * (LaunchSizes.MaxTile + 1));
        var right = SharedMemory.Allocate<float>(depthStep * (LaunchSizes.MaxTile + 1));
        int side = Group.DimX, tile = 2 * side, pitch = tile + 1;
        int tx = Group.IdxX, ty = Group.IdxY, item = ty * side + tx, items = side * side;
        int column0 = Grid.IdxX * tile, row0 = Grid.IdxY * tile, z = Grid.IdxZ;
        int rows = operands.Rows, columns = operands.Columns, depth = operands.Depth;
        bool rightAlongDepth = operands.RightAlongDepth;
        float a00 = 0f, a01 = 0f, a10 = 0f, a11 = 0f;
        for (int k0 = 0; k0 < depth; k0 += depthStep)
        {
            for (int l = item; l < tile * depthStep; l += items)
            {
                // Consecutive threads load consecutive reduction steps of one row (rows of x and w are contiguous)...
                int r = l / depthStep, kk = l % depthStep, row = row0 + r, kIndex = k0 + kk;
                left[kk * pitch + r] = row < rows && kIndex < depth ? operands.Left(row, kIndex, z) : 0f;
                // ...or, for convolution inputs, consecutive frames.
                int c = rightAlongDepth ? r : l % tile, kb = rightAlongDepth ? kk : l / tile, column = column0 + c, kRight = k0 + kb;
                right[kb * pitch + c] = column < columns && kRight < depth ? operands.Right(kRight, column, z) : 0f;
            }
            Group.Barrier();
            for (int kk = 0; kk < depthStep; kk++)
            {
                float l0 = left[kk * pitch + ty], l1 = left[kk * pitch + ty + side];
                float r0 = right[kk * pitch + tx], r1 = right[kk * pitch + tx + side];
                a00 += l0 * r0;
                a01 += l0 * r1;
                a10 += l1 * r0;
                a11 += l1 * r1;
            }
            Group.Barrier();
        }
        int rowA = row0 + ty, rowB = rowA + side, columnA = column0 + tx, columnB = columnA + side;
        if (rowA < rows && columnA < columns) operands.Store(rowA, columnA, z, a00);
        if (rowA < rows && columnB < columns) operands.Store(rowA, columnB, z, a01);
        if (rowB < rows && columnA < columns) operands.Store(rowB, columnA, z, a10);
        if (rowB < rows && columnB < columns) operands.Store(rowB, columnB, z, a11);
    }

    /// <summary>
    /// The same product with one thread per output, for shapes a tile would leave mostly idle (convolutions with a
    /// few output channels): index (column, row, z), the shared operands read from cache.
    /// </summary>
    public static void DirectProduct<T>(Index3D index, T operands) where T : struct, IProductOperands
    {
        float sum = 0f;
        for (int r = 0; r < operands.Depth; r++) sum += operands.Left(index.Y, r, index.Z) * operands.Right(r, index.X, index.Z);
        operands.Store(index.Y, index.X, index.Z, sum);
    }

    /// <summary>
    /// The decoding-step product (M ≤ SkinnyMaxRows), bound by reading w: each warp streams one weight row once, in
    /// its stored type, each lane four consecutive weights at a time (one 32-bit word of q8 or q4, lanes on
    /// consecutive addresses), decoded in registers and multiplied against RowsPerPass rows of x (a few KB read by
    /// every warp, so it stays in cache); the lanes' partial sums meet in a warp reduction.
    /// Grid: (groups of weight rows, passes over the rows of x).
    /// </summary>
    public static void SkinnyProduct<TWeights>(ArrayView<float> x, RowNorm norm, TWeights weight, ArrayView<float> bias, ArrayView<float> y, SkinnyShape s)
        where TWeights : struct, IWeightMatrix
    {
        int lanes = Warp.WarpSize, lane = Warp.LaneIdx;
        int column = Grid.IdxX * (Group.DimX / lanes) + Warp.WarpIdx;
        int m0 = Grid.IdxY * LaunchSizes.RowsPerPass, count = Math.Min(LaunchSizes.RowsPerPass, s.M - m0);
        long x0 = (long)m0 * s.XStride, x1 = x0 + s.XStride, x2 = x1 + s.XStride, x3 = x2 + s.XStride;
        // A norm's statistics: each warp computes those of its few rows itself, cheaper than a launch of their own.
        var (mean0, inverse0) = RowStatistics(x, x0, s.K, norm);
        var (mean1, inverse1) = count > 1 ? RowStatistics(x, x1, s.K, norm) : (0f, 1f);
        var (mean2, inverse2) = count > 2 ? RowStatistics(x, x2, s.K, norm) : (0f, 1f);
        var (mean3, inverse3) = count > 3 ? RowStatistics(x, x3, s.K, norm) : (0f, 1f);
        float a0 = 0f, a1 = 0f, a2 = 0f, a3 = 0f;
        if (column < s.N)
        {
            int whole = s.K & ~3;
            for (int kk = 4 * lane; kk < whole; kk += 4 * lanes)
            {
                var w = weight.Load4(column, kk);
                a0 += Dot4(x, x0, kk, w, norm, mean0, inverse0);
                if (count > 1) a1 += Dot4(x, x1, kk, w, norm, mean1, inverse1);
                if (count > 2) a2 += Dot4(x, x2, kk, w, norm, mean2, inverse2);
                if (count > 3) a3 += Dot4(x, x3, kk, w, norm, mean3, inverse3);
            }
            for (int kk = whole + lane; kk < s.K; kk += lanes)
            {
                float value = weight.Load(column, kk);
                a0 += value * norm.Apply(x[x0 + kk], kk, mean0, inverse0);
                if (count > 1) a1 += value * norm.Apply(x[x1 + kk], kk, mean1, inverse1);
                if (count > 2) a2 += value * norm.Apply(x[x2 + kk], kk, mean2, inverse2);
                if (count > 3) a3 += value * norm.Apply(x[x3 + kk], kk, mean3, inverse3);
            }
        }
        a0 = WarpExtensions.Reduce<float, AddFloat>(a0);
        a1 = WarpExtensions.Reduce<float, AddFloat>(a1);
        a2 = WarpExtensions.Reduce<float, AddFloat>(a2);
        a3 = WarpExtensions.Reduce<float, AddFloat>(a3);
        if (lane != 0 || column >= s.N) return;
        float b = bias.Length > 0 ? bias[column] : 0f;
        StoreResult(y, OutputIndex(m0, column, s.M, s.N, s.PlaneWidth), a0 + b, s.Epilogue);
        if (count > 1) StoreResult(y, OutputIndex(m0 + 1, column, s.M, s.N, s.PlaneWidth), a1 + b, s.Epilogue);
        if (count > 2) StoreResult(y, OutputIndex(m0 + 2, column, s.M, s.N, s.PlaneWidth), a2 + b, s.Epilogue);
        if (count > 3) StoreResult(y, OutputIndex(m0 + 3, column, s.M, s.N, s.PlaneWidth), a3 + b, s.Epilogue);
    }

    /// <summary>Where y[row, column] of y [M, N] goes: there, or into planes [N / W, M, W] for a plane width W > 0.</summary>
    public static long OutputIndex(int row, int column, int m, int n, int planeWidth) =>
        planeWidth == 0 ? (long)row * n + column : ((long)(column / planeWidth) * m + row) * planeWidth + column % planeWidth;

    /// <summary>y[at] = result as a <see cref="Engine.Backends.LinearEpilogue"/>'s code says: stored, added, or through an activation.</summary>
    public static void StoreResult(ArrayView<float> y, long at, float result, int epilogue)
    {
        if (epilogue == 0) y[at] = result;
        else if (epilogue == 1) y[at] += result;
        else y[at] = Activate(result, epilogue - 2);
    }

    /// <summary>x[row + kk … row + kk + 3], normalized as the norm says, · w.</summary>
    private static float Dot4(ArrayView<float> x, long row, int kk, FourWeights w, RowNorm norm, float mean, float inverse)
    {
        long at = row + kk;
        if (!norm.Normalizes) return x[at] * w.W0 + x[at + 1] * w.W1 + x[at + 2] * w.W2 + x[at + 3] * w.W3;
        return norm.Apply(x[at], kk, mean, inverse) * w.W0 + norm.Apply(x[at + 1], kk + 1, mean, inverse) * w.W1
            + norm.Apply(x[at + 2], kk + 2, mean, inverse) * w.W2 + norm.Apply(x[at + 3], kk + 3, mean, inverse) * w.W3;
    }

    /// <summary>
    /// The mean and 1 / √(var + eps) of the row x[row … row + K) as <see cref="LayerNorm"/> computes them (two passes),
    /// reduced across the warp; (0, 1) without a norm. Every lane of the warp calls it.
    /// </summary>
    private static (float Mean, float Inverse) RowStatistics(ArrayView<float> x, long row, int k, RowNorm norm)
    {
        if (!norm.Normalizes) return (0f, 1f);
        int lanes = Warp.WarpSize;
        float sum = 0f;
        for (int i = Warp.LaneIdx; i < k; i += lanes) sum += x[row + i];
        float mean = WarpExtensions.AllReduce<float, AddFloat>(sum) / k;
        float squares = 0f;
        for (int i = Warp.LaneIdx; i < k; i += lanes) squares += (x[row + i] - mean) * (x[row + i] - mean);
        return (mean, 1f / MathF.Sqrt(WarpExtensions.AllReduce<float, AddFloat>(squares) / k + norm.Eps));
    }
}
