using MusicGen.Engine.Backends;
using MusicGen.Engine.Tensors;

namespace MusicGen.Kernels.OpenCl;

public sealed partial class OpenClBackend
{
    protected override void Conv1dCore(Tensor x, Tensor weight, Tensor? bias, Tensor y, int stride, int dilation)
    {
        int batch = x.Dim(0), cin = x.Dim(1), tin = x.Dim(2);
        int cout = weight.Dim(0), kernel = weight.Dim(2), tout = y.Dim(2);
        bool direct = cout <= KernelSizes.DirectConvolutionMaxChannels;
        var launch = (direct ? _kernels.Conv1dDirect : _kernels.Conv1dTiled).Start()
            .Tensor(x).Tensor(weight).Optional(bias, _placeholder).Tensor(y)
            .Int(cin).Int(tin).Int(cout).Int(tout).Int(kernel).Int(stride).Int(dilation);
        if (direct)
            launch.Run([KernelSizes.RoundUp(tout, KernelSizes.ElementThreads), cout, batch], [KernelSizes.ElementThreads, 1, 1]);
        else
            launch.Run([Tiles(tout), Tiles(cout), batch], [KernelSizes.TileThreads, KernelSizes.TileThreads, 1]);
    }

    /// <summary>In steps, as the residual unit: the padded copy stays in device memory, which the kernels read at its bandwidth.</summary>
    protected override void PaddedConv1dCore(Tensor x, Tensor weight, Tensor? bias, Tensor y, int stride, int dilation, int padLeft, int padRight, PadMode mode) =>
        this.PaddedConv1dInSteps(x, weight, bias, y, stride, dilation, padLeft, padRight, mode);

    /// <summary>As separate operations: each already keeps the device busy, and the intermediates stay in device memory.</summary>
    protected override void ResidualUnitCore(Tensor x, Tensor narrowWeight, Tensor narrowBias, Tensor wideWeight, Tensor wideBias, Tensor y,
        int dilation, int padLeft, int padRight, PadMode mode) =>
        this.ResidualUnitInSteps(x, narrowWeight, narrowBias, wideWeight, wideBias, y, dilation, padLeft, padRight, mode);

    protected override void ConvTranspose1dCore(Tensor x, Tensor polyphaseWeight, Tensor? bias, Tensor y, int stride, int kernelSize, int trimLeft)
    {
        int batch = x.Dim(0), cin = x.Dim(1), tin = x.Dim(2);
        int cout = y.Dim(1), tout = y.Dim(2);
        int taps = ConvTransposeWeights.Taps(kernelSize, stride);
        if (tout == 0) return;
        // Input frames q whose phases reach the kept outputs [trimLeft, trimLeft + tout).
        int qFirst = trimLeft / stride, qEnd = (trimLeft + tout - 1) / stride + 1;
        _kernels.ConvTranspose1dTiled.Start()
            .Tensor(x).Tensor(polyphaseWeight).Optional(bias, _placeholder).Tensor(y)
            .Int(cin).Int(tin).Int(cout).Int(tout).Int(taps).Int(stride).Int(trimLeft).Int(qFirst).Int(qEnd)
            .Run([Tiles(qEnd - qFirst), Tiles(cout), (long)batch * stride], [KernelSizes.TileThreads, KernelSizes.TileThreads, 1]);
    }
}
