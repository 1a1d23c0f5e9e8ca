using MusicGen.Engine.Backends;
using MusicGen.Engine.Tensors;

namespace MusicGen.Kernels.OpenCl;

public sealed partial class OpenClBackend
{
    /// <summary>Launches a kernel with one item per element, the range rounded up to whole work groups.</summary>
    private static void RunElements(ClKernel kernel, long count) =>
        kernel.Run([KernelSizes.RoundUp(count, KernelSizes.ElementThreads)], [KernelSizes.ElementThreads]);

    public void Activation(Tensor x, Tensor y, ActivationKind kind)
    {
        OperationContracts.SameLength("Activation", x, y);
        if (!Enum.IsDefined(kind)) throw new ArgumentOutOfRangeException(nameof(kind));
        RunElements(_kernels.Activation.Start().Tensor(x).Tensor(y).Int(checked((int)x.Length)).Int((int)kind), x.Length);
    }

    public void Add(Tensor a, Tensor b, Tensor y)
    {
        OperationContracts.Elementwise("Add", a, b, y);
        RunElements(_kernels.Add.Start().Tensor(a).Tensor(b).Tensor(y).Int(checked((int)a.Length)), a.Length);
    }

    public void Multiply(Tensor a, Tensor b, Tensor y)
    {
        OperationContracts.Elementwise("Multiply", a, b, y);
        RunElements(_kernels.Multiply.Start().Tensor(a).Tensor(b).Tensor(y).Int(checked((int)a.Length)), a.Length);
    }

    public void ScaleRows(Tensor x, ReadOnlySpan<float> scales, Tensor y)
    {
        int d = x.Dim(-1);
        OperationContracts.ScaleRows(x, scales.Length, y);
        if (x.Length == 0) return;
        RunElements(_kernels.ScaleRows.Start().Tensor(x).Memory(_arguments.Write(scales)).Tensor(y).Int(d).Int(checked((int)x.Length)), x.Length);
    }

    public void Gather(Tensor table, ReadOnlySpan<int> ids, Tensor y, float scale = 1f, bool accumulate = false)
    {
        int vocabulary = table.Dim(0), d = table.Dim(-1);
        OperationContracts.Gather(table, ids.Length, y);
        foreach (int id in ids)
            if ((uint)id >= (uint)vocabulary) throw new ArgumentOutOfRangeException(nameof(ids), $"id {id} outside a table of {vocabulary} rows");
        if (ids.IsEmpty) return;
        _kernels.Gather.Start().Tensor(table).Memory(_arguments.Write(ids)).Tensor(y).Int(d).Float(scale).Int(accumulate ? 1 : 0)
            .Run([KernelSizes.RoundUp(d, KernelSizes.ElementThreads), ids.Length], [KernelSizes.ElementThreads, 1]);
    }
}
