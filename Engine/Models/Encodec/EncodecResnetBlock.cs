using MusicGen.Engine.Backends;
using MusicGen.Engine.Tensors;
using MusicGen.Loaders.Checkpoints;
using MusicGen.Loaders.Configs;

namespace MusicGen.Engine.Models.Encodec;

/// <summary>
/// SEANet residual block (modeling_encodec.EncodecResnetBlock): ELU, dilated conv to dim / compress, ELU,
/// 1-wide conv back to dim, plus the input (through a 1-wide conv when use_conv_shortcut).
/// </summary>
public sealed class EncodecResnetBlock : IEncodecLayer
{
    private readonly IBackend _backend;
    private readonly EncodecConv1d _first;
    private readonly EncodecConv1d _second;
    private readonly EncodecConv1d? _shortcut;

    public EncodecResnetBlock(IBackend backend, EncodecConfig config, WeightReader weights, int dim, int dilation)
    {
        _backend = backend;
        int hidden = dim / config.Compress;
        _first = new EncodecConv1d(backend, config, weights.Scope("block.1."), dim, hidden, config.ResidualKernelSize, dilation: dilation);
        _second = new EncodecConv1d(backend, config, weights.Scope("block.3."), hidden, dim, 1);
        if (config.UseConvShortcut) _shortcut = new EncodecConv1d(backend, config, weights.Scope("shortcut."), dim, dim, 1);
    }

    public (int Left, int Right) InputContext(int left, int right)
    {
        var (secondLeft, secondRight) = _second.InputContext(left, right);
        return _first.InputContext(secondLeft, secondRight);
    }

    public Tensor Forward(Tensor hidden) // [B, dim, T] -> [B, dim, T]
    {
        if (_shortcut is null)
        {
            // ELU, dilated conv, ELU, 1-wide conv, plus the input: one operation, so no intermediate of the
            // block's full length goes through memory.
            var output = _backend.AllocateUninitialized(hidden.ShapeArray());
            var (left, right) = _first.Padding(hidden.Dim(2));
            _backend.ResidualUnit(hidden, _first.Weight, _first.Bias, _second.Weight, _second.Bias, output, _first.Dilation, left, right, _first.PadMode);
            return output;
        }
        using var narrow = _first.Forward(hidden, ActivationKind.Elu);
        _backend.Activation(narrow, narrow, ActivationKind.Elu);
        var result = _second.Forward(narrow);
        using var shortcut = _shortcut.Forward(hidden);
        _backend.Add(shortcut, result, result);
        return result;
    }

    /// <summary>Frees the weights on the device.</summary>
    public void Dispose()
    {
        _first.Dispose();
        _second.Dispose();
        _shortcut?.Dispose();
    }
}
