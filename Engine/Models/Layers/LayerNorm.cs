using MusicGen.Engine.Backends;
using MusicGen.Engine.Tensors;
using MusicGen.Loaders.Checkpoints;

namespace MusicGen.Engine.Models.Layers;

/// <summary>torch's nn.LayerNorm over the last dimension, with weight and bias (eps 1e-5).</summary>
public sealed class LayerNorm : IDisposable
{
    private const float Eps = 1e-5f;

    private readonly IBackend _backend;
    private readonly Tensor _weight, _bias; // [D]

    /// <summary>
    /// y [R, out] = x · weightᵀ + bias of this norm of x [R, D]: one operation (<see cref="IBackend.LayerNormLinear"/>),
    /// so a decoding step's product normalizes its rows itself.
    /// </summary>
    public void ThenLinear(Tensor input, Tensor weight, Tensor? bias, Tensor output, LinearEpilogue epilogue = default) =>
        _backend.LayerNormLinear(input, _weight, _bias, Eps, weight, bias, output, epilogue);

    /// <summary>Reads <c>{name}.weight</c> and <c>{name}.bias</c>.</summary>
    public LayerNorm(IBackend backend, WeightReader weights, string name, int width)
    {
        _backend = backend;
        _weight = backend.Upload(weights.Float($"{name}.weight", width));
        _bias = backend.Upload(weights.Float($"{name}.bias", width));
    }

    public void Forward(Tensor input, Tensor output) => _backend.LayerNorm(input, _weight, _bias, output, Eps); // [R, D] -> [R, D]

    /// <summary>Frees the weights on the device.</summary>
    public void Dispose()
    {
        _weight.Dispose();
        _bias.Dispose();
    }
}
