using MusicGen.Engine.Backends;
using MusicGen.Engine.Tensors;

namespace MusicGen.Kernels.OpenCl;

public sealed partial class OpenClBackend
{
    protected override void SampleCodesCore(Tensor logits, int vocabulary, SamplingRule rule, ReadOnlySpan<float> uniforms, Span<int> codes)
    {
        int rows = codes.Length;
        if (rows == 0) return;
        // The rows' scores, then their order keys, in one scratch: [R, V] floats, [R, V] longs.
        long scoresBytes = ((long)rows * vocabulary * sizeof(float) + sizeof(long) - 1) / sizeof(long) * sizeof(long);
        var work = _work.Reserve(scoresBytes + (long)rows * vocabulary * sizeof(long));
        var found = _results.Reserve((long)rows * sizeof(int));
        var drawn = rule.Greedy ? _placeholder : _arguments.Write(uniforms);
        _kernels.SampleCodes.Start().Tensor(logits).Int(vocabulary).Int(rows).Int(rule.Guided ? 1 : 0).Float(rule.GuidanceScale)
            .Int(rule.Greedy ? 1 : 0).Float(rule.InverseTemperature).Int(rule.TopK).Float(rule.TopP).Memory(drawn)
            .Memory(work).Memory(work).Int(checked((int)(scoresBytes / sizeof(long)))).Memory(found)
            .Run([KernelSizes.RoundUp(rows, KernelSizes.ElementThreads)], [KernelSizes.ElementThreads]);
        _cl.Read(found, 0, codes);
    }
}
