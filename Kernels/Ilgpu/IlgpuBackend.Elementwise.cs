using MusicGen.Engine.Backends;
using MusicGen.Engine.Tensors;

namespace MusicGen.Kernels.Ilgpu;

public sealed partial class IlgpuBackend
{
    protected override void ActivationCore(Tensor x, Tensor y, ActivationKind kind)
    {
        if (x.Length > 0) _kernels.Activation(checked((int)x.Length), View(x), View(y), (int)kind);
    }

    protected override void AddCore(Tensor a, Tensor b, Tensor y)
    {
        if (a.Length > 0) _kernels.Add(checked((int)a.Length), View(a), View(b), View(y));
    }

    protected override void MultiplyCore(Tensor a, Tensor b, Tensor y)
    {
        if (a.Length > 0) _kernels.Multiply(checked((int)a.Length), View(a), View(b), View(y));
    }

    protected override void ScaleRowsCore(Tensor x, ReadOnlySpan<float> scales, Tensor y)
    {
        if (x.Length > 0) _kernels.ScaleRows(checked((int)x.Length), View(x), _scales.Write(scales), View(y), x.Dim(-1));
    }

    protected override void GatherCore(Tensor table, ReadOnlySpan<int> ids, Tensor y, float scale, bool accumulate)
    {
        int d = table.Dim(-1);
        if (ids.IsEmpty || d == 0) return;
        int rows = checked((int)(y.Length / d));
        _kernels.Gather(new ILGPU.Index2D(d, rows), View(table), _indices.Write(ids), View(y), d, ids.Length / rows, scale, accumulate ? 1 : 0);
    }
}
