using MusicGen.Engine.Backends;
using MusicGen.Engine.Models.Layers;
using MusicGen.Engine.Tensors;
using MusicGen.Loaders.Checkpoints;
using MusicGen.Loaders.Configs;

namespace MusicGen.Engine.Models.T5;

/// <summary>
/// T5's feed-forward (modeling_t5.T5DenseActDense, or T5DenseGatedActDense when the config asks for a gated
/// activation): wo(act(wi(x))) or wo(act(wi_0(x)) · wi_1(x)), without biases.
/// </summary>
public sealed class T5FeedForward : IDisposable
{
    private readonly IBackend _backend;
    private readonly T5Config _config;
    private readonly Linear _wi;        // d -> d_ff (wi_0 when gated)
    private readonly Linear? _wiLinear; // d -> d_ff (wi_1 when gated)
    private readonly Linear _wo;        // d_ff -> d
    private readonly ActivationKind _activation;

    public T5FeedForward(IBackend backend, T5Config config, WeightReader weights)
    {
        _backend = backend;
        _config = config;
        _activation = config.DenseActFn switch
        {
            "relu" => ActivationKind.Relu,
            "gelu" => ActivationKind.Gelu,
            "gelu_new" => ActivationKind.GeluTanh,
            _ => throw new MusicGenException($"T5 activation '{config.DenseActFn}' is not supported"),
        };
        _wi = new Linear(backend, weights, config.IsGatedAct ? "wi_0" : "wi", config.DModel, config.DFf, bias: false);
        if (config.IsGatedAct) _wiLinear = new Linear(backend, weights, "wi_1", config.DModel, config.DFf, bias: false);
        _wo = new Linear(backend, weights, "wo", config.DFf, config.DModel, bias: false);
    }

    public Tensor Forward(Tensor hidden) // [B, T, d] -> [B, T, d]
    {
        int rows = (int)(hidden.Length / _config.DModel);
        var input = hidden.Reshape(rows, _config.DModel);
        using var inner = _backend.Allocate(rows, _config.DFf);
        _wi.Forward(input, inner);
        _backend.Activation(inner, inner, _activation);
        if (_wiLinear is not null)
        {
            using var gate = _backend.Allocate(rows, _config.DFf);
            _wiLinear.Forward(input, gate);
            _backend.Multiply(inner, gate, inner);
        }
        var output = _backend.Allocate(hidden.ShapeArray());
        _wo.Forward(inner, output.Reshape(rows, _config.DModel));
        return output;
    }

    /// <summary>Frees the weights on the device.</summary>
    public void Dispose()
    {
        _wi.Dispose();
        _wiLinear?.Dispose();
        _wo.Dispose();
    }
}
