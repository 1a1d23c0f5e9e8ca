using MusicGen.Engine.Backends;
using MusicGen.Engine.Tensors;
using MusicGen.Loaders.Checkpoints;
using MusicGen.Loaders.Configs;

namespace MusicGen.Engine.Models.Encodec;

/// <summary>
/// EnCodec's Conv1d (modeling_encodec.EncodecConv1d): pads so that every input sample reaches a whole output
/// frame (Tout = ⌈T / stride⌉), asymmetrically (the extra sample on the left) or causally, in reflect mode.
/// </summary>
public sealed class EncodecConv1d : IEncodecLayer
{
    private readonly IBackend _backend;
    private readonly Tensor _weight; // [Cout, Cin, K]
    private readonly Tensor _bias;   // [Cout]
    private readonly bool _causal;
    private readonly PadMode _padMode;

    internal Tensor Weight => _weight;
    internal Tensor Bias => _bias;
    internal PadMode PadMode => _padMode;

    public int InChannels { get; }
    public int OutChannels { get; }
    public int KernelSize { get; }
    public int Stride { get; }
    public int Dilation { get; }

    public EncodecConv1d(IBackend backend, EncodecConfig config, WeightReader weights, int inChannels, int outChannels,
        int kernelSize, int stride = 1, int dilation = 1)
    {
        _backend = backend;
        InChannels = inChannels;
        OutChannels = outChannels;
        KernelSize = kernelSize;
        Stride = stride;
        Dilation = dilation;
        _causal = config.UseCausalConv;
        _padMode = config.PadMode == "reflect" ? PadMode.Reflect : PadMode.Zero;
        _weight = backend.Upload(weights.Float("conv.weight", outChannels, inChannels, kernelSize));
        _bias = backend.Upload(weights.Float("conv.bias", outChannels));
    }

    /// <summary>Left and right padding for an input of the given length (reference: _get_extra_padding_for_conv1d).</summary>
    public (int Left, int Right) Padding(int length)
    {
        int effectiveKernel = (KernelSize - 1) * Dilation + 1;
        int total = effectiveKernel - Stride;
        int extra = (length + Stride - 1) / Stride * Stride - length;
        if (_causal) return (total, extra);
        int right = total / 2;
        return (total - right, right + extra);
    }

    public (int Left, int Right) InputContext(int left, int right)
    {
        var (padLeft, _) = Padding(0);
        int total = (KernelSize - 1) * Dilation + 1 - Stride;
        return (left * Stride + padLeft, right * Stride + total - padLeft);
    }

    public int OutputLength(int length) => (length + Stride - 1) / Stride;

    public Tensor Forward(Tensor hidden) => Forward(hidden, activation: null); // [B, Cin, T] -> [B, Cout, ⌈T / stride⌉]

    /// <summary>
    /// The convolution of activation(hidden). The activation runs in place on a padded copy: an elementwise
    /// function with f(0) = 0 commutes with reflect and zero padding, and the input needs no copy of its own. A
    /// convolution without one reads the input as it is, padded as it reads.
    /// </summary>
    public Tensor Forward(Tensor hidden, ActivationKind? activation) // [B, Cin, T] -> [B, Cout, ⌈T / stride⌉]
    {
        int batch = hidden.Dim(0), length = hidden.Dim(2);
        var (left, right) = Padding(length);
        var output = _backend.AllocateUninitialized(batch, OutChannels, OutputLength(length));
        if (activation is null)
        {
            _backend.PaddedConv1d(hidden, _weight, _bias, output, Stride, Dilation, left, right, _padMode);
            return output;
        }
        using var padded = _backend.AllocateUninitialized(batch, InChannels, length + left + right);
        _backend.Pad1d(hidden, padded, left, right, _padMode);
        if (activation is { } kind) _backend.Activation(padded, padded, kind);
        _backend.Conv1d(padded, _weight, _bias, output, Stride, Dilation);
        return output;
    }

    /// <summary>Frees the weights on the device.</summary>
    public void Dispose()
    {
        _weight.Dispose();
        _bias.Dispose();
    }
}
