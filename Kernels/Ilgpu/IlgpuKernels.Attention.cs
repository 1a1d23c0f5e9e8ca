using ILGPU;
using Half = ILGPU.Half;
using ILGPU.Algorithms;
using ILGPU.Algorithms.ScanReduceOperations;
using MusicGen.Loaders.Checkpoints;

namespace MusicGen.Kernels.Ilgpu;

/// <summary>The sizes of one attention call (see <see cref="MusicGen.Engine.Backends.AttentionOptions"/>).</summary>
internal struct AttentionShape
{
    public int Heads, Queries, Keys, KeyRows, Width, HeadDim, Causal, QueryOffset;
    public float Scale;
}

/// <summary>Keys or values of an attention call as float32, whatever the cache stores.</summary>
internal interface ICacheView
{
    float this[long index] { get; }
}

internal readonly struct FloatCache(ArrayView<float> data) : ICacheView
{
    private readonly ArrayView<float> _data = data;
    public float this[long index] => _data[index];
}

/// <summary>A float16 key/value cache (IBackend.AllocateCache).</summary>
internal readonly struct HalfCache(ArrayView<Half> data) : ICacheView
{
    private readonly ArrayView<Half> _data = data;
    public float this[long index] => (float)_data[index];
}

/// <summary>A q8 key/value cache (IBackend.AllocateCache): element i is scales[i / 32] · values[i].</summary>
internal readonly struct Int8Cache(ArrayView<sbyte> values, ArrayView<float> scales) : ICacheView
{
    public readonly ArrayView<sbyte> Values = values;
    public readonly ArrayView<float> Scales = scales;
    public float this[long index] => Scales[index / PackedMatrix.BlockSize] * Values[index];
}

internal static partial class IlgpuKernels
{
    /// <summary>
    /// Fused scaled dot-product attention over the KV cache, one group per (batch row, head, query). Keys are taken
    /// <see cref="LaunchSizes.AttentionChunk"/> at a time: each thread scores its keys of the chunk into shared
    /// memory, the group takes the chunk's maximum, and the softmax runs online (the running sum and outputs are
    /// rescaled whenever the maximum grows), so key lengths are not limited by shared memory. Thread e then
    /// accumulates output dimensions e, e + threads, … over the chunk's values, reading value rows along
    /// consecutive addresses. Masked scores are float.MinValue, as the reference adds finfo.min: a row whose keys
    /// are all masked weighs every key equally instead of producing NaN.
    /// </summary>
    public static void Attention<TCache>(ArrayView<float> q, TCache k, TCache v, ArrayView<float> output,
        ArrayView<float> bias, ArrayView<float> mask, AttentionShape s) where TCache : struct, ICacheView
    {
        var query = SharedMemory.Allocate<float>(LaunchSizes.MaxHeadDim);
        var sums = SharedMemory.Allocate<float>(LaunchSizes.MaxHeadDim);
        var scores = SharedMemory.Allocate<float>(LaunchSizes.AttentionChunk);
        int lid = Group.IdxX, threads = Group.DimX, group = Grid.IdxX;
        int i = group % s.Queries, h = group / s.Queries % s.Heads, b = group / (s.Queries * s.Heads);
        int visible = s.Causal != 0 ? Math.Min(s.Keys, s.QueryOffset + i + 1) : s.Keys;
        long rowBase = (long)b * s.KeyRows * s.Width + h * s.HeadDim;
        long queryRow = ((long)b * s.Queries + i) * s.Width + h * s.HeadDim;
        bool hasBias = bias.Length > 0, hasMask = mask.Length > 0;
        for (int e = lid; e < s.HeadDim; e += threads)
        {
            query[e] = q[queryRow + e];
            sums[e] = 0f;
        }
        Group.Barrier();
        float runningMax = float.NegativeInfinity, runningSum = 0f;
        for (int j0 = 0; j0 < visible; j0 += LaunchSizes.AttentionChunk)
        {
            int count = Math.Min(LaunchSizes.AttentionChunk, visible - j0);
            float largest = float.NegativeInfinity;
            for (int jj = lid; jj < count; jj += threads)
            {
                int j = j0 + jj;
                long key = rowBase + (long)j * s.Width;
                float dot = 0f;
                for (int e = 0; e < s.HeadDim; e++) dot += query[e] * k[key + e];
                float score = s.Scale * dot;
                if (hasBias) score += bias[((long)h * s.Queries + i) * s.Keys + j];
                if (hasMask && mask[(long)b * s.Keys + j] == 0f) score = float.MinValue;
                scores[jj] = score;
                largest = MathF.Max(largest, score);
            }
            float newMax = MathF.Max(runningMax, GroupExtensions.AllReduce<float, MaxFloat>(largest));
            for (int jj = lid; jj < count; jj += threads) scores[jj] = MathF.Exp(scores[jj] - newMax);
            Group.Barrier();
            float correction = MathF.Exp(runningMax - newMax); // 0 for the first chunk
            float chunkSum = 0f;
            for (int jj = 0; jj < count; jj++) chunkSum += scores[jj];
            runningSum = runningSum * correction + chunkSum;
            for (int e = lid; e < s.HeadDim; e += threads)
            {
                long value = rowBase + (long)j0 * s.Width + e;
                float sum = sums[e] * correction;
                for (int jj = 0; jj < count; jj++) sum += scores[jj] * v[value + (long)jj * s.Width];
                sums[e] = sum;
            }
            runningMax = newMax;
            Group.Barrier();
        }
        for (int e = lid; e < s.HeadDim; e += threads) output[queryRow + e] = sums[e] / runningSum;
    }
}
