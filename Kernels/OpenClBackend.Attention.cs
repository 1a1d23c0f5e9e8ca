using MusicGen.Engine.Backends;
using MusicGen.Engine.Backends.Cpu;
using MusicGen.Engine.Tensors;
using MusicGen.Kernels.OpenCl;

namespace MusicGen.Kernels;

public sealed partial class OpenClBackend
{
    public void Attention(Tensor q, Tensor k, Tensor v, Tensor output, AttentionOptions options)
    {
        int batch = q.Dim(0), queries = q.Dim(1), width = q.Dim(2);
        int keyRows = k.Dim(1), keys = options.KeyLength, heads = options.Heads;
        Check.Shape(k.Dim(0) == batch && v.Dim(0) == batch && k.Dim(2) == width && v.Dim(2) == width && v.Dim(1) == keyRows
            && keys <= keyRows && output.Length == q.Length && width % heads == 0, "Attention", q, k, v, output);
        if (options.PositionBias is { } positionBias)
            Check.Shape(positionBias.Length == (long)heads * queries * keys, "Attention position bias", q, positionBias);
        if (options.KeyMask is { } keyMask)
            Check.Shape(keyMask.Length == (long)batch * keys, "Attention key mask", q, keyMask);
        int headDim = width / heads;
        const int maxHeadDim = KernelSizes.AttentionThreads * KernelSizes.AttentionSlots;
        if (headDim > maxHeadDim)
            throw new NotSupportedException($"Attention: head dimension {headDim} exceeds the {maxHeadDim} the OpenCL kernel accumulates");
        _kernels.Attention.Start().Tensor(q).Tensor(k).Tensor(v).Tensor(output)
            .Optional(options.PositionBias, _placeholder).Optional(options.KeyMask, _placeholder)
            .Int(heads).Int(queries).Int(keys).Int(keyRows).Int(width).Int(headDim).Float(options.Scale)
            .Int(options.Causal ? 1 : 0).Int(options.QueryOffset).Local(Math.Max(1, headDim) * sizeof(float))
            .Run([Groups((long)batch * heads * queries, KernelSizes.AttentionThreads)], [KernelSizes.AttentionThreads]);
    }
}
