using MusicGen.Engine.Backends;
using MusicGen.Engine.Tensors;
using MusicGen.Loaders.Checkpoints;

namespace MusicGen.Kernels.Ilgpu;

public sealed partial class IlgpuBackend
{
    public void Attention(Tensor q, Tensor k, Tensor v, Tensor output, AttentionOptions options)
    {
        int batch = q.Dim(0), queries = q.Dim(1), width = q.Dim(2), heads = options.Heads;
        OperationContracts.Attention(q, k, v, output, options);
        int headDim = width / heads;
        if (headDim > LaunchSizes.MaxHeadDim)
            throw new NotSupportedException($"Attention: head dimension {headDim} exceeds the {LaunchSizes.MaxHeadDim} the ILGPU kernel accumulates");
        if (q.Length == 0) return;
        var shape = new AttentionShape
        {
            Heads = heads, Queries = queries, Keys = options.KeyLength, KeyRows = k.Dim(1), Width = width, HeadDim = headDim,
            Causal = options.Causal ? 1 : 0, QueryOffset = options.QueryOffset, Scale = options.Scale,
        };
        var groups = Groups((long)batch * heads * queries, _sizes.Attention);
        if (k.ElementType == WeightType.F16)
            _kernels.AttentionOverHalves(groups, View(q), new HalfCache(HalfView(k)), new HalfCache(HalfView(v)), View(output),
                Optional(options.PositionBias), Optional(options.KeyMask), shape);
        else
            _kernels.Attention(groups, View(q), new FloatCache(View(k)), new FloatCache(View(v)), View(output),
                Optional(options.PositionBias), Optional(options.KeyMask), shape);
    }
}
