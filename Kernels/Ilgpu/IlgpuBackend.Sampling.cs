using ILGPU.Runtime;
using MusicGen.Engine.Backends;
using MusicGen.Engine.Tensors;

namespace MusicGen.Kernels.Ilgpu;

public sealed partial class IlgpuBackend
{
    protected override void SampleCodesCore(Tensor logits, int vocabulary, SamplingRule rule, ReadOnlySpan<float> uniforms, Span<int> codes)
    {
        int rows = codes.Length;
        if (rows == 0) return;
        var scores = _work.Reserve((long)rows * vocabulary);
        var order = _orderKeys.Reserve((long)rows * vocabulary);
        var found = _results.Reserve(rows);
        var drawn = rule.Greedy ? _scales.Reserve(1) : _scales.Write(uniforms);
        _kernels.SampleCodes(rows, View(logits), drawn, scores, order, found, new SamplingArguments
        {
            Rows = rows, Vocabulary = vocabulary, Guided = rule.Guided ? 1 : 0, Greedy = rule.Greedy ? 1 : 0, TopK = rule.TopK,
            GuidanceScale = rule.GuidanceScale, InverseTemperature = rule.InverseTemperature, TopP = rule.TopP,
        });
        found.CopyToCPU(codes);
        _counters.CountSynchronization();
    }
}
