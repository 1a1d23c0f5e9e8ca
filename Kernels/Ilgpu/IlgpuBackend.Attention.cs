using ILGPU;
using MusicGen.Engine.Backends;
using MusicGen.Engine.Tensors;
using MusicGen.Loaders;
using MusicGen.Loaders.Checkpoints;
using Half = ILGPU.Half;

namespace MusicGen.Kernels.Ilgpu;

public sealed partial class IlgpuBackend
{
    protected override Tensor AllocateCacheCore(WeightType type, int[] shape)
    {
        if (type != WeightType.Q8) return type == WeightType.F32 ? Allocate(shape) : Zeroed<Half>(shape, type);
        // The bytes of a q8 matrix whose rows are the positions: the values, then one scale per block of 32. Allocated
        // as that many bytes and handed to a tensor of the cache's shape (the byte tensor owns nothing else).
        var bytes = Zeroed<byte>([checked((int)WeightType.Q8.ByteCount(1, ShapeText.ElementCount(shape)))], WeightType.Q8);
        return new Tensor(this, bytes.Buffer, 0, shape, ownsBuffer: true, WeightType.Q8);
    }

    /// <summary>A q8 cache's values and scales on this accelerator (a cache is never a view).</summary>
    private Int8Cache Int8View(Tensor cache)
    {
        if (cache.Buffer is not IlgpuBuffer<byte> buffer || buffer.Accelerator != _accelerator || cache.ElementType != WeightType.Q8)
            throw new ArgumentException($"{cache} is not a q8 cache of this ILGPU backend");
        ArrayView<byte> bytes = buffer.Memory.View;
        return new Int8Cache(bytes.SubView(0, cache.Length).Cast<sbyte>(),
            bytes.SubView(cache.Length, cache.Length / PackedMatrix.BlockSize * sizeof(float)).Cast<float>());
    }

    protected override void AttentionCore(Tensor q, Tensor k, Tensor v, Tensor output, AttentionOptions options) =>
        Attention(q, k, v, output, options, default);

    /// <summary>
    /// One launch for a decoding step's few queries: each group writes its head's slice of the new rows before it
    /// attends. Many queries (a prompt) would each write all of them, so they are copied by CopyBlocks first instead.
    /// </summary>
    protected override void AppendAndAttendCore(Tensor q, Tensor keys, Tensor values, Tensor keyCache, Tensor valueCache, Tensor output,
        AttentionOptions options)
    {
        if (q.Dim(1) <= LaunchSizes.AppendingMaxQueries)
        {
            Attention(q, keyCache, valueCache, output, options, new AppendedRows { Keys = View(keys), Values = View(values) });
            return;
        }
        AppendInSteps(q, keys, values, keyCache, valueCache, options);
        Attention(q, keyCache, valueCache, output, options, default);
    }

    private void Attention(Tensor q, Tensor k, Tensor v, Tensor output, AttentionOptions options, AppendedRows appended)
    {
        int batch = q.Dim(0), queries = q.Dim(1), width = q.Dim(2), heads = options.Heads;
        int headDim = width / heads;
        if (q.Length == 0) return;
        var shape = new AttentionShape
        {
            Heads = heads, Queries = queries, Keys = options.KeyLength, KeyRows = k.Dim(1), Width = width, HeadDim = headDim,
            Causal = options.Causal ? 1 : 0, QueryOffset = options.QueryOffset, Scale = options.Scale,
        };
        var groups = Groups((long)batch * heads * queries, _sizes.Attention);
        if (k.ElementType == WeightType.F16)
            _kernels.AttentionOverHalves(groups, View(q), new HalfCache(HalfView(k)), new HalfCache(HalfView(v)), View(output),
                Optional(options.PositionBias), Optional(options.KeyMask), appended, shape);
        else if (k.ElementType == WeightType.Q8)
            _kernels.AttentionOverInt8(groups, View(q), Int8View(k), Int8View(v), View(output), Optional(options.PositionBias), Optional(options.KeyMask), appended, shape);
        else
            _kernels.Attention(groups, View(q), new FloatCache(View(k)), new FloatCache(View(v)), View(output),
                Optional(options.PositionBias), Optional(options.KeyMask), appended, shape);
    }
}
