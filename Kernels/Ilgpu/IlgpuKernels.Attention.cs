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

/// <summary>
/// The new key and value rows [B, queries, width] an attention call writes into its caches before it attends
/// (IBackend.AppendAndAttend), or none (empty views).
/// </summary>
internal struct AppendedRows
{
    public ArrayView<float> Keys, Values;
}

/// <summary>Keys or values of an attention call as float32, whatever the cache stores.</summary>
internal interface ICacheView
{
    float this[long index] { get; }

    /// <summary>
    /// Elements [first, end) of the float32 row source into the cache row starting at element at, as CopyBlocks
    /// writes this type (a q8 cache the whole blocks they touch), shared among a group's threads.
    /// </summary>
    void Append(ArrayView<float> source, long at, int first, int end);
}

internal readonly struct FloatCache(ArrayView<float> data) : ICacheView
{
    private readonly ArrayView<float> _data = data;
    public float this[long index] => _data[index];

    public void Append(ArrayView<float> source, long at, int first, int end)
    {
        for (int e = first + Group.IdxX; e < end; e += Group.DimX) _data[at + e] = source[e];
    }
}

/// <summary>A float16 key/value cache (IBackend.AllocateCache).</summary>
internal readonly struct HalfCache(ArrayView<Half> data) : ICacheView
{
    private readonly ArrayView<Half> _data = data;
    private readonly ArrayView<ushort> _bits = data.Cast<ushort>();
    public float this[long index] => (float)_data[index];

    public void Append(ArrayView<float> source, long at, int first, int end)
    {
        for (int e = first + Group.IdxX; e < end; e += Group.DimX) _bits[at + e] = IlgpuKernels.HalfBits(source[e]);
    }
}

/// <summary>A q8 key/value cache (IBackend.AllocateCache): element i is scales[i / 32] · values[i].</summary>
internal readonly struct Int8Cache(ArrayView<sbyte> values, ArrayView<float> scales) : ICacheView
{
    public readonly ArrayView<sbyte> Values = values;
    public readonly ArrayView<float> Scales = scales;
    public float this[long index] => Scales[index / PackedMatrix.BlockSize] * Values[index];

    public void Append(ArrayView<float> source, long at, int first, int end)
    {
        const int block = PackedMatrix.BlockSize;
        for (int b = first / block + Group.IdxX; b < (end + block - 1) / block; b += Group.DimX)
            IlgpuKernels.QuantizeBlock(source, (long)b * block, Values, Scales, at + (long)b * block);
    }
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
    /// With appended rows (a decoding step's cache append in the same launch) the group first writes its head's slice
    /// of every query's new key and value rows into the caches at rows QueryOffset on, then waits for its own writes.
    /// Groups writing the same elements (another query of the head, or a neighbouring head's group where a q8 block
    /// spans both heads) write the same bytes, so every group reads what CopyBlocks then attention would.
    /// </summary>
    public static void Attention<TCache>(ArrayView<float> q, TCache k, TCache v, ArrayView<float> output,
        ArrayView<float> bias, ArrayView<float> mask, AppendedRows appended, AttentionShape s) where TCache : struct, ICacheView
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
        if (appended.Keys.Length > 0)
        {
            int first = h * s.HeadDim, end = first + s.HeadDim;
            for (int t = 0; t < s.Queries; t++)
            {
                long source = ((long)b * s.Queries + t) * s.Width, at = ((long)b * s.KeyRows + s.QueryOffset + t) * s.Width;
                k.Append(appended.Keys.SubView(source, s.Width), at, first, end);
                v.Append(appended.Values.SubView(source, s.Width), at, first, end);
            }
            Group.Barrier();
        }
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
