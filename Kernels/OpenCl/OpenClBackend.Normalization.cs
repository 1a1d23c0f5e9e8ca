using MusicGen.Engine.Backends;
using MusicGen.Engine.Tensors;

namespace MusicGen.Kernels.OpenCl;

public sealed partial class OpenClBackend
{
    public void LayerNorm(Tensor x, Tensor weight, Tensor? bias, Tensor y, float eps)
    {
        int d = weight.Dim(-1);
        OperationContracts.Norm("LayerNorm", x, weight, bias, y);
        _kernels.LayerNorm.Start().Tensor(x).Tensor(weight).Optional(bias, _placeholder).Tensor(y).Int(d).Float(eps)
            .Run([Groups(x.Length / d, KernelSizes.ReduceThreads)], [KernelSizes.ReduceThreads]);
    }

    public void RmsNorm(Tensor x, Tensor weight, Tensor y, float eps)
    {
        int d = weight.Dim(-1);
        OperationContracts.Norm("RmsNorm", x, weight, null, y);
        _kernels.RmsNorm.Start().Tensor(x).Tensor(weight).Tensor(y).Int(d).Float(eps)
            .Run([Groups(x.Length / d, KernelSizes.ReduceThreads)], [KernelSizes.ReduceThreads]);
    }

    public void Softmax(Tensor x, Tensor y)
    {
        int d = x.Dim(-1);
        OperationContracts.SameLength("Softmax", x, y);
        if (d == 0) return;
        _kernels.Softmax.Start().Tensor(x).Tensor(y).Int(d)
            .Run([Groups(x.Length / d, KernelSizes.ReduceThreads)], [KernelSizes.ReduceThreads]);
    }
}
