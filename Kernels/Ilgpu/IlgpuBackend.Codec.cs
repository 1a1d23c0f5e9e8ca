using ILGPU;
using ILGPU.Runtime;
using MusicGen.Engine.Backends;
using MusicGen.Engine.Tensors;

namespace MusicGen.Kernels.Ilgpu;

public sealed partial class IlgpuBackend
{
    protected override void NearestCodesCore(Tensor x, Tensor codebook, Span<int> codes)
    {
        int size = codebook.Dim(0), d = codebook.Dim(1), n = codes.Length;
        if (n == 0) return;
        var norms = _work.Reserve(Math.Max(1, size));
        if (size > 0) _kernels.CodebookNorms(size, View(codebook), norms, d);
        var found = _results.Reserve(n);
        _kernels.NearestCodes(Groups(n, _sizes.Group), View(x), View(codebook), norms, found, size, d);
        found.CopyToCPU(codes);
        _counters.CountSynchronization();
    }

    protected override void LstmStepCore(Tensor gates, Tensor recurrentWeight, Tensor cell, Tensor output, int t)
    {
        int batch = gates.Dim(0), steps = gates.Dim(1), hidden = recurrentWeight.Dim(1);
        if (batch == 0 || hidden == 0) return;
        // z[b, 4H] = W_hh · h[b, t − 1]: the rows of h are output rows steps·H apart, read in place.
        var z = _work.Reserve((long)batch * 4 * hidden);
        var outputs = View(output);
        if (t > 0)
            Product(outputs.SubView((long)(t - 1) * hidden, outputs.Length - (long)(t - 1) * hidden), steps * hidden,
                recurrentWeight, ArrayView<float>.Empty, z, batch, 4 * hidden, hidden);
        _kernels.LstmCell(new Index2D(hidden, batch), View(gates), z, View(cell), outputs, hidden, steps, t);
    }
}
