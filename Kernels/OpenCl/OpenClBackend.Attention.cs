using MusicGen.Engine.Backends;
using MusicGen.Engine.Tensors;
using MusicGen.Loaders.Checkpoints;

namespace MusicGen.Kernels.OpenCl;

public sealed partial class OpenClBackend
{
    protected override void AttentionCore(Tensor q, Tensor k, Tensor v, Tensor output, AttentionOptions options) =>
        Attention(q, k, v, output, options, null, null);

    /// <summary>
    /// One launch for a decoding step's few queries: each group writes its head's slice of the new rows before it
    /// attends. Many queries (a prompt) would each write all of them, so they are copied by CopyBlocks first instead.
    /// </summary>
    protected override void AppendAndAttendCore(Tensor q, Tensor keys, Tensor values, Tensor keyCache, Tensor valueCache, Tensor output,
        AttentionOptions options)
    {
        if (q.Dim(1) <= KernelSizes.AppendingMaxQueries)
        {
            Attention(q, keyCache, valueCache, output, options, keys, values);
            return;
        }
        AppendInSteps(q, keys, values, keyCache, valueCache, options);
        Attention(q, keyCache, valueCache, output, options, null, null);
    }

    private void Attention(Tensor q, Tensor k, Tensor v, Tensor output, AttentionOptions options, Tensor? newKeys, Tensor? newValues)
    {
        int batch = q.Dim(0), queries = q.Dim(1), width = q.Dim(2);
        int keyRows = k.Dim(1), keys = options.KeyLength, heads = options.Heads;
        int headDim = width / heads;
        // The kernel's CACHE_F32, CACHE_F16, CACHE_Q8; a q8 cache's scales follow its values (a cache is never a view).
        int cacheType = k.ElementType switch { WeightType.F16 => 1, WeightType.Q8 => 2, _ => 0 };
        int scaleStart = k.ElementType == WeightType.Q8 ? checked((int)k.Length) : 0;
        _kernels.Attention.Start().Tensor(q).Tensor(k).Tensor(v).Int(cacheType).Int(scaleStart).Tensor(output)
            .Optional(options.PositionBias, _placeholder).Optional(options.KeyMask, _placeholder)
            .Optional(newKeys, _placeholder).Optional(newValues, _placeholder)
            .Int(heads).Int(queries).Int(keys).Int(keyRows).Int(width).Int(headDim).Float(options.Scale)
            .Int(options.Causal ? 1 : 0).Int(options.QueryOffset).Local(Math.Max(1, headDim) * sizeof(float))
            .Run([Groups((long)batch * heads * queries, KernelSizes.AttentionThreads)], [KernelSizes.AttentionThreads]);
    }
}
