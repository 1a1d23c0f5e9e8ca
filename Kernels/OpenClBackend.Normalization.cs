using MusicGen.Engine.Backends.Cpu;
using MusicGen.Engine.Tensors;
using MusicGen.Kernels.OpenCl;

namespace MusicGen.Kernels;

public sealed partial class OpenClBackend
{
    public void LayerNorm(Tensor x, Tensor weight, Tensor? bias, Tensor y, float eps)
    {
        int d = weight.Dim(-1);
        Check.Shape(x.Length == y.Length && x.Length % d == 0 && (bias is null || bias.Length == d), "LayerNorm", x, weight, y);
        _kernels.LayerNorm.Start().Tensor(x).Tensor(weight).Optional(bias, _placeholder).Tensor(y).Int(d).Float(eps)
            .Run([Groups(x.Length / d, KernelSizes.ReduceThreads)], [KernelSizes.ReduceThreads]);
    }

    public void RmsNorm(Tensor x, Tensor weight, Tensor y, float eps)
    {
        int d = weight.Dim(-1);
        Check.Shape(x.Length == y.Length && x.Length % d == 0, "RmsNorm", x, weight, y);
        _kernels.RmsNorm.Start().Tensor(x).Tensor(weight).Tensor(y).Int(d).Float(eps)
            .Run([Groups(x.Length / d, KernelSizes.ReduceThreads)], [KernelSizes.ReduceThreads]);
    }

    public void Softmax(Tensor x, Tensor y)
    {
        int d = x.Dim(-1);
        Check.Shape(x.Length == y.Length, "Softmax", x, y);
        if (d == 0) return;
        _kernels.Softmax.Start().Tensor(x).Tensor(y).Int(d)
            .Run([Groups(x.Length / d, KernelSizes.ReduceThreads)], [KernelSizes.ReduceThreads]);
    }
}
