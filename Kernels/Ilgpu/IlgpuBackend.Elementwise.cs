using MusicGen.Engine.Backends;
using MusicGen.Engine.Tensors;

namespace MusicGen.Kernels.Ilgpu;

public sealed partial class IlgpuBackend
{
    public void Activation(Tensor x, Tensor y, ActivationKind kind)
    {
        OperationContracts.SameLength("Activation", x, y);
        if (!Enum.IsDefined(kind)) throw new ArgumentOutOfRangeException(nameof(kind));
        if (x.Length > 0) _kernels.Activation(checked((int)x.Length), View(x), View(y), (int)kind);
    }

    public void Add(Tensor a, Tensor b, Tensor y)
    {
        OperationContracts.Elementwise("Add", a, b, y);
        if (a.Length > 0) _kernels.Add(checked((int)a.Length), View(a), View(b), View(y));
    }

    public void Multiply(Tensor a, Tensor b, Tensor y)
    {
        OperationContracts.Elementwise("Multiply", a, b, y);
        if (a.Length > 0) _kernels.Multiply(checked((int)a.Length), View(a), View(b), View(y));
    }

    public void ScaleRows(Tensor x, ReadOnlySpan<float> scales, Tensor y)
    {
        OperationContracts.ScaleRows(x, scales.Length, y);
        if (x.Length > 0) _kernels.ScaleRows(checked((int)x.Length), View(x), _scales.Write(scales), View(y), x.Dim(-1));
    }

    public void Gather(Tensor table, ReadOnlySpan<int> ids, Tensor y, float scale = 1f, bool accumulate = false)
    {
        int vocabulary = table.Dim(0), d = table.Dim(-1);
        OperationContracts.Gather(table, ids.Length, y);
        foreach (int id in ids)
            if ((uint)id >= (uint)vocabulary) throw new ArgumentOutOfRangeException(nameof(ids), $"id {id} outside a table of {vocabulary} rows");
        if (ids.IsEmpty || d == 0) return;
        _kernels.Gather(new ILGPU.Index2D(d, ids.Length), View(table), _indices.Write(ids), View(y), d, scale, accumulate ? 1 : 0);
    }
}
