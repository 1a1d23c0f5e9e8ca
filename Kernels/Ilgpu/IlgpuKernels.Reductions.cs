using ILGPU;
using ILGPU.Algorithms;
using ILGPU.Algorithms.ScanReduceOperations;

namespace MusicGen.Kernels.Ilgpu;

/// <summary>
/// Kernels with one group per row that meet in shared memory: norms and softmax over the last dimension (reduced
/// with ILGPU.Algorithms' group all-reduce), nearest-code search, and the tile transpose. Launched explicitly
/// grouped; group sizes come from <see cref="LaunchSizes"/>.
/// </summary>
internal static partial class IlgpuKernels
{
    public static void LayerNorm(ArrayView<float> x, ArrayView<float> weight, ArrayView<float> bias, ArrayView<float> y, int d, float eps)
    {
        int lid = Group.IdxX, threads = Group.DimX;
        long row = (long)Grid.IdxX * d;
        float sum = 0f;
        for (int i = lid; i < d; i += threads) sum += x[row + i];
        float mean = GroupExtensions.AllReduce<float, AddFloat>(sum) / d;
        // Two passes, as the reference: the variance of centred values, not E[x²] − mean².
        float squares = 0f;
        for (int i = lid; i < d; i += threads) squares += (x[row + i] - mean) * (x[row + i] - mean);
        float inverse = 1f / MathF.Sqrt(GroupExtensions.AllReduce<float, AddFloat>(squares) / d + eps);
        bool hasBias = bias.Length > 0;
        for (int i = lid; i < d; i += threads)
            y[row + i] = (x[row + i] - mean) * inverse * weight[i] + (hasBias ? bias[i] : 0f);
    }

    public static void RmsNorm(ArrayView<float> x, ArrayView<float> weight, ArrayView<float> y, int d, float eps)
    {
        int lid = Group.IdxX, threads = Group.DimX;
        long row = (long)Grid.IdxX * d;
        float squares = 0f;
        for (int i = lid; i < d; i += threads) squares += x[row + i] * x[row + i];
        float inverse = 1f / MathF.Sqrt(GroupExtensions.AllReduce<float, AddFloat>(squares) / d + eps);
        for (int i = lid; i < d; i += threads) y[row + i] = x[row + i] * inverse * weight[i];
    }

    /// <summary>Shifted by the row maximum, as the CPU backend; y may be x (each thread reads its elements before writing them).</summary>
    public static void Softmax(ArrayView<float> x, ArrayView<float> y, int d)
    {
        int lid = Group.IdxX, threads = Group.DimX;
        long row = (long)Grid.IdxX * d;
        float largest = float.NegativeInfinity;
        for (int i = lid; i < d; i += threads) largest = MathF.Max(largest, x[row + i]);
        float shift = GroupExtensions.AllReduce<float, MaxFloat>(largest);
        float sum = 0f;
        for (int i = lid; i < d; i += threads)
        {
            float e = MathF.Exp(x[row + i] - shift);
            y[row + i] = e;
            sum += e;
        }
        float inverse = 1f / GroupExtensions.AllReduce<float, AddFloat>(sum);
        for (int i = lid; i < d; i += threads) y[row + i] *= inverse;
    }

    /// <summary>
    /// codes[n] = argmin_c |x|² − 2 x·e_c + |e_c|² (the reference's expression), the first index winning ties. One
    /// group per row: each thread scans codes lid, lid + threads, … keeping its first minimum, then the group
    /// reduces (distance, index) pairs in shared memory.
    /// </summary>
    public static void NearestCodes(ArrayView<float> x, ArrayView<float> codebook, ArrayView<float> norms, ArrayView<int> codes, int size, int d)
    {
        var distances = SharedMemory.Allocate<float>(LaunchSizes.MaxGroup);
        var indices = SharedMemory.Allocate<int>(LaunchSizes.MaxGroup);
        int lid = Group.IdxX, threads = Group.DimX, n = Grid.IdxX;
        long row = (long)n * d;
        float squares = 0f;
        for (int e = 0; e < d; e++) squares += x[row + e] * x[row + e];
        float best = float.PositiveInfinity;
        int bestIndex = int.MaxValue;
        for (int c = lid; c < size; c += threads)
        {
            float dot = 0f;
            for (int e = 0; e < d; e++) dot += x[row + e] * codebook[(long)c * d + e];
            float distance = squares - 2f * dot + norms[c];
            if (distance < best)
            {
                best = distance;
                bestIndex = c;
            }
        }
        distances[lid] = best;
        indices[lid] = bestIndex;
        Group.Barrier();
        for (int s = threads / 2; s > 0; s >>= 1)
        {
            if (lid < s)
            {
                float other = distances[lid + s];
                int otherIndex = indices[lid + s];
                if (other < distances[lid] || (other == distances[lid] && otherIndex < indices[lid]))
                {
                    distances[lid] = other;
                    indices[lid] = otherIndex;
                }
            }
            Group.Barrier();
        }
        // No distance below infinity (all NaN or infinite): code 0, as a linear scan starting from code 0 gives.
        if (lid == 0) codes[n] = indices[0] == int.MaxValue ? 0 : indices[0];
    }

    /// <summary>
    /// y[b, j, i] = x[b, i, j] for x [B, M, N]: a square tile through shared memory so reads and writes both run
    /// along consecutive addresses; the extra column keeps the transposed reads off a single bank.
    /// </summary>
    public static void Transpose(ArrayView<float> x, ArrayView<float> y, int m, int n)
    {
        var tile = SharedMemory.Allocate<float>(LaunchSizes.MaxTile / 2 * (LaunchSizes.MaxTile / 2 + 1));
        int side = Group.DimX, pitch = side + 1, tx = Group.IdxX, ty = Group.IdxY;
        int j0 = Grid.IdxX * side, i0 = Grid.IdxY * side;
        long matrix = (long)Grid.IdxZ * m * n;
        if (i0 + ty < m && j0 + tx < n) tile[ty * pitch + tx] = x[matrix + (long)(i0 + ty) * n + j0 + tx];
        Group.Barrier();
        if (j0 + ty < n && i0 + tx < m) y[matrix + (long)(j0 + ty) * m + i0 + tx] = tile[tx * pitch + ty];
    }
}
