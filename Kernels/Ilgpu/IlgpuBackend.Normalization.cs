using MusicGen.Engine.Backends;
using MusicGen.Engine.Tensors;

namespace MusicGen.Kernels.Ilgpu;

public sealed partial class IlgpuBackend
{
    public void LayerNorm(Tensor x, Tensor weight, Tensor? bias, Tensor y, float eps)
    {
        int d = weight.Dim(-1);
        OperationContracts.Norm("LayerNorm", x, weight, bias, y);
        if (x.Length > 0) _kernels.LayerNorm(Groups(x.Length / d, _sizes.Group), View(x), View(weight), Optional(bias), View(y), d, eps);
    }

    public void RmsNorm(Tensor x, Tensor weight, Tensor y, float eps)
    {
        int d = weight.Dim(-1);
        OperationContracts.Norm("RmsNorm", x, weight, null, y);
        if (x.Length > 0) _kernels.RmsNorm(Groups(x.Length / d, _sizes.Group), View(x), View(weight), View(y), d, eps);
    }

    public void Softmax(Tensor x, Tensor y)
    {
        int d = x.Dim(-1);
        OperationContracts.SameLength("Softmax", x, y);
        if (d == 0 || x.Length == 0) return;
        _kernels.Softmax(Groups(x.Length / d, _sizes.Group), View(x), View(y), d);
    }
}
