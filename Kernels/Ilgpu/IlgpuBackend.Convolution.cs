using ILGPU;
using MusicGen.Engine.Backends;
using MusicGen.Engine.Tensors;

namespace MusicGen.Kernels.Ilgpu;

public sealed partial class IlgpuBackend
{
    protected override void Conv1dCore(Tensor x, Tensor weight, Tensor? bias, Tensor y, int stride, int dilation)
    {
        int batch = x.Dim(0), cin = x.Dim(1), tin = x.Dim(2);
        int cout = weight.Dim(0), kernel = weight.Dim(2), tout = y.Dim(2);
        if (y.Length == 0) return;
        var operands = new Conv1dOperands
        {
            X = View(x), Weight = View(weight), Bias = Optional(bias), Y = View(y),
            InChannels = cin, InLength = tin, OutChannels = cout, OutLength = tout, KernelSize = kernel, Stride = stride, Dilation = dilation,
        };
        if (cout <= LaunchSizes.DirectConvolutionMaxChannels) _kernels.Conv1dDirect(new Index3D(tout, cout, batch), operands);
        else _kernels.Conv1dTiled(Tiles(tout, cout, batch), operands);
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
        if (y.Length == 0) return;
        // Input frames q whose phases reach the kept outputs [trimLeft, trimLeft + tout).
        int first = trimLeft / stride, end = (trimLeft + tout - 1) / stride + 1;
        var operands = new ConvTranspose1dOperands
        {
            X = View(x), Weight = View(polyphaseWeight), Bias = Optional(bias), Y = View(y),
            InChannels = cin, InLength = tin, OutChannels = cout, OutLength = tout, Taps = ConvTransposeWeights.Taps(kernelSize, stride),
            Stride = stride, TrimLeft = trimLeft, FirstFrame = first, EndFrame = end,
        };
        _kernels.ConvTranspose1dTiled(Tiles(end - first, cout, batch * stride), operands);
    }
}
