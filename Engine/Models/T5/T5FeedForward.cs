using MusicGen.Engine.Backends;
using MusicGen.Engine.Tensors;
using MusicGen.Loaders.Checkpoints;
using MusicGen.Loaders.Configs;

namespace MusicGen.Engine.Models.T5;

/// <summary>
/// T5's feed-forward (modeling_t5.T5DenseActDense, or T5DenseGatedActDense when the config asks for a gated
/// activation): wo(act(wi(x))) or wo(act(wi_0(x)) · wi_1(x)), without biases.
/// </summary>
public sealed class T5FeedForward
{
    private readonly IBackend _backend;
    private readonly T5Config _config;
    private readonly Tensor _wi;        // [d_ff, d] (wi_0 when gated)
    private readonly Tensor? _wiLinear; // [d_ff, d] (wi_1 when gated)
    private readonly Tensor _wo;        // [d, d_ff]
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
            _ => throw new Loaders.MusicGenException($"T5 activation '{config.DenseActFn}' is not supported"),
        };
        if (config.IsGatedAct)
        {
            _wi = backend.Upload(weights.Float("wi_0.weight", config.DFf, config.DModel));
            _wiLinear = backend.Upload(weights.Float("wi_1.weight", config.DFf, config.DModel));
        }
        else
        {
            _wi = backend.Upload(weights.Float("wi.weight", config.DFf, config.DModel));
        }
        _wo = backend.Upload(weights.Float("wo.weight", config.DModel, config.DFf));
    }

    public Tensor Forward(Tensor hidden) // [B, T, d] -> [B, T, d]
    {
        int rows = (int)(hidden.Length / _config.DModel);
        var input = hidden.Reshape(rows, _config.DModel);
        using var inner = _backend.Allocate(rows, _config.DFf);
        _backend.Linear(input, _wi, null, inner);
        _backend.Activation(inner, inner, _activation);
        if (_wiLinear is not null)
        {
            using var gate = _backend.Allocate(rows, _config.DFf);
            _backend.Linear(input, _wiLinear, null, gate);
            _backend.Multiply(inner, gate, inner);
        }
        var output = _backend.Allocate(hidden.ShapeArray());
        _backend.Linear(inner, _wo, null, output.Reshape(rows, _config.DModel));
        return output;
    }
}
