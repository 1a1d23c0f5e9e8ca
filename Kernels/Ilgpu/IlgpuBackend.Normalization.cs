using MusicGen.Engine.Backends;
using MusicGen.Engine.Tensors;

namespace MusicGen.Kernels.Ilgpu;

public sealed partial class IlgpuBackend
{
    protected override void LayerNormCore(Tensor x, Tensor weight, Tensor? bias, Tensor y, float eps)
    {
        int d = weight.Dim(-1);
        if (x.Length > 0) _kernels.LayerNorm(Groups(x.Length / d, _sizes.Group), View(x), View(weight), Optional(bias), View(y), d, eps);
    }

    protected override void RmsNormCore(Tensor x, Tensor weight, Tensor y, float eps)
    {
        int d = weight.Dim(-1);
        if (x.Length > 0) _kernels.RmsNorm(Groups(x.Length / d, _sizes.Group), View(x), View(weight), View(y), d, eps);
    }

    protected override void SoftmaxCore(Tensor x, Tensor y)
    {
        int d = x.Dim(-1);
        if (d == 0 || x.Length == 0) return;
        _kernels.Softmax(Groups(x.Length / d, _sizes.Group), View(x), View(y), d);
    }
}
