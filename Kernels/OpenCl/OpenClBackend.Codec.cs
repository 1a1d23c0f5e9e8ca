using MusicGen.Engine.Backends;
using MusicGen.Engine.Tensors;

namespace MusicGen.Kernels.OpenCl;

public sealed partial class OpenClBackend
{
    protected override void NearestCodesCore(Tensor x, Tensor codebook, Span<int> codes)
    {
        int size = codebook.Dim(0), d = codebook.Dim(1), n = codes.Length;
        if (n == 0) return;
        var norms = _work.Reserve((long)size * sizeof(float));
        _kernels.CodebookNorms.Start().Tensor(codebook).Memory(norms).Int(size).Int(d)
            .Run([KernelSizes.RoundUp(size, KernelSizes.ElementThreads)], [KernelSizes.ElementThreads]);
        var found = _results.Reserve((long)n * sizeof(int));
        _kernels.NearestCodes.Start().Tensor(x).Tensor(codebook).Memory(norms).Memory(found).Int(size).Int(d).Local(Math.Max(1, d) * sizeof(float))
            .Run([Groups(n, KernelSizes.CodesThreads)], [KernelSizes.CodesThreads]);
        _cl.Read(found, 0, codes);
    }

    protected override void LstmStepCore(Tensor gates, Tensor recurrentWeight, Tensor cell, Tensor output, int t)
    {
        int batch = gates.Dim(0), steps = gates.Dim(1), hidden = recurrentWeight.Dim(1);
        // z[b, 4H] = W_hh · h[b, t − 1]: the rows of h are output rows steps·H apart, read in place.
        var z = _work.Reserve((long)batch * 4 * hidden * sizeof(float));
        var outputs = KernelArguments.MemoryOf(_cl, output);
        if (t > 0)
            Product(outputs, checked((int)output.Offset + (t - 1) * hidden), steps * hidden, recurrentWeight, null, z, 0, batch, 4 * hidden, hidden);
        _kernels.LstmCell.Start().Tensor(gates).Memory(z).Tensor(cell).Tensor(output).Int(hidden).Int(steps).Int(t)
            .Run([KernelSizes.RoundUp(hidden, KernelSizes.ElementThreads), batch], [KernelSizes.ElementThreads, 1]);
    }
}
