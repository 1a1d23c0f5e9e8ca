using MusicGen.Engine.Backends;
using MusicGen.Engine.Tensors;
using MusicGen.Loaders.Checkpoints;
using MusicGen.Loaders.Configs;

namespace MusicGen.Engine.Models.Encodec;

/// <summary>
/// EnCodec's ConvTranspose1d (modeling_encodec.EncodecConvTranspose1d): a transposed convolution whose fixed
/// padding K − stride is trimmed, half on each side (the extra sample on the left), or by trim_right_ratio when
/// causal; the output is exactly T · stride long.
/// </summary>
public sealed class EncodecConvTranspose1d : IEncodecLayer
{
    private readonly IBackend _backend;
    private readonly Tensor _weight; // polyphase [stride · Cout, Cin · taps]
    private readonly Tensor _bias;   // [Cout]
    private readonly int _trimLeft;

    public int InChannels { get; }
    public int OutChannels { get; }
    public int KernelSize { get; }
    public int Stride { get; }

    public EncodecConvTranspose1d(IBackend backend, EncodecConfig config, WeightReader weights, int inChannels,
        int outChannels, int kernelSize, int stride)
    {
        _backend = backend;
        InChannels = inChannels;
        OutChannels = outChannels;
        KernelSize = kernelSize;
        Stride = stride;
        var weight = weights.Float("conv.weight", inChannels, outChannels, kernelSize);
        _weight = backend.Adopt(ConvTransposeWeights.ToPolyphase(weight.Data, inChannels, outChannels, kernelSize, stride),
            stride * outChannels, inChannels * ConvTransposeWeights.Taps(kernelSize, stride));
        _bias = backend.Upload(weights.Float("conv.bias", outChannels));
        int total = kernelSize - stride;
        int right = config.UseCausalConv ? (int)Math.Ceiling(total * config.TrimRightRatio) : total / 2;
        _trimLeft = total - right;
    }

    /// <summary>Input i reaches the untrimmed outputs [i · stride, i · stride + K); the first _trimLeft are cut.</summary>
    public (int Left, int Right) InputContext(int left, int right)
    {
        // The span is input step 0 (outputs [0, stride)); find the first and last input step its context reaches.
        int first = FloorDivide(-left + _trimLeft - KernelSize, Stride) + 1;
        int last = FloorDivide(Stride + right - 1 + _trimLeft, Stride);
        return (-first, last);
    }

    private static int FloorDivide(int a, int b) => (int)Math.Floor((double)a / b);

    public Tensor Forward(Tensor hidden) // [B, Cin, T] -> [B, Cout, T · stride]
    {
        var output = _backend.AllocateUninitialized(hidden.Dim(0), OutChannels, hidden.Dim(2) * Stride);
        _backend.ConvTranspose1d(hidden, _weight, _bias, output, Stride, KernelSize, _trimLeft);
        return output;
    }

    /// <summary>Frees the weights on the device.</summary>
    public void Dispose()
    {
        _weight.Dispose();
        _bias.Dispose();
    }
}
