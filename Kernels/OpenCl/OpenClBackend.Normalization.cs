using MusicGen.Engine.Backends;
using MusicGen.Engine.Tensors;

namespace MusicGen.Kernels.OpenCl;

public sealed partial class OpenClBackend
{
    protected override void LayerNormCore(Tensor x, Tensor weight, Tensor? bias, Tensor y, float eps)
    {
        int d = weight.Dim(-1);
        _kernels.LayerNorm.Start().Tensor(x).Tensor(weight).Optional(bias, _placeholder).Tensor(y).Int(d).Float(eps)
            .Run([Groups(x.Length / d, KernelSizes.ReduceThreads)], [KernelSizes.ReduceThreads]);
    }

    protected override void RmsNormCore(Tensor x, Tensor weight, Tensor y, float eps)
    {
        int d = weight.Dim(-1);
        _kernels.RmsNorm.Start().Tensor(x).Tensor(weight).Tensor(y).Int(d).Float(eps)
            .Run([Groups(x.Length / d, KernelSizes.ReduceThreads)], [KernelSizes.ReduceThreads]);
    }

    protected override void SoftmaxCore(Tensor x, Tensor y)
    {
        int d = x.Dim(-1);
        if (d == 0) return;
        _kernels.Softmax.Start().Tensor(x).Tensor(y).Int(d)
            .Run([Groups(x.Length / d, KernelSizes.ReduceThreads)], [KernelSizes.ReduceThreads]);
    }
}
