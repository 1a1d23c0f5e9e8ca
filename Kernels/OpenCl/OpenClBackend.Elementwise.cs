using MusicGen.Engine.Backends;
using MusicGen.Engine.Tensors;

namespace MusicGen.Kernels.OpenCl;

public sealed partial class OpenClBackend
{
    /// <summary>Launches a kernel with one item per element, the range rounded up to whole work groups.</summary>
    private static void RunElements(ClKernel kernel, long count) =>
        kernel.Run([KernelSizes.RoundUp(count, KernelSizes.ElementThreads)], [KernelSizes.ElementThreads]);

    protected override void ActivationCore(Tensor x, Tensor y, ActivationKind kind)
    {
        RunElements(_kernels.Activation.Start().Tensor(x).Tensor(y).Int(checked((int)x.Length)).Int((int)kind), x.Length);
    }

    protected override void AddCore(Tensor a, Tensor b, Tensor y)
    {
        RunElements(_kernels.Add.Start().Tensor(a).Tensor(b).Tensor(y).Int(checked((int)a.Length)), a.Length);
    }

    protected override void MultiplyCore(Tensor a, Tensor b, Tensor y)
    {
        RunElements(_kernels.Multiply.Start().Tensor(a).Tensor(b).Tensor(y).Int(checked((int)a.Length)), a.Length);
    }

    protected override void ScaleRowsCore(Tensor x, ReadOnlySpan<float> scales, Tensor y)
    {
        int d = x.Dim(-1);
        if (x.Length == 0) return;
        RunElements(_kernels.ScaleRows.Start().Tensor(x).Memory(_arguments.Write(scales)).Tensor(y).Int(d).Int(checked((int)x.Length)), x.Length);
    }

    protected override void GatherCore(Tensor table, ReadOnlySpan<int> ids, Tensor y, float scale, bool accumulate)
    {
        int d = table.Dim(-1);
        if (ids.IsEmpty || d == 0) return;
        int rows = checked((int)(y.Length / d));
        _kernels.Gather.Start().Tensor(table).Memory(_arguments.Write(ids)).Tensor(y).Int(d).Int(ids.Length / rows).Float(scale).Int(accumulate ? 1 : 0)
            .Run([KernelSizes.RoundUp(d, KernelSizes.ElementThreads), rows], [KernelSizes.ElementThreads, 1]);
    }
}
