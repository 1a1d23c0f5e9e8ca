using MusicGen.Engine.Backends;
using MusicGen.Engine.Tensors;
using MusicGen.Loaders.Checkpoints;

namespace MusicGen.Engine.Models.Layers;

/// <summary>
/// A dense layer as torch's nn.Linear: y[R, out] = x[R, in] · Wᵀ + b, its weights uploaded once (the matrix in the
/// reader's weight type, the bias in float32).
/// </summary>
public sealed class Linear : IDisposable
{
    private readonly IBackend _backend;

    public Tensor Weight { get; } // [out, in]
    public Tensor? Bias { get; }  // [out]
    public int InFeatures { get; }
    public int OutFeatures { get; }

    /// <summary>Reads <c>{name}.weight</c> (in the reader's matrix type) and <c>{name}.bias</c> when it has one.</summary>
    public Linear(IBackend backend, WeightReader weights, string name, int inFeatures, int outFeatures, bool bias)
    {
        _backend = backend;
        InFeatures = inFeatures;
        OutFeatures = outFeatures;
        Weight = backend.UploadMatrix(weights, [$"{name}.weight"], outFeatures, inFeatures);
        if (bias) Bias = backend.Upload(weights.Float($"{name}.bias", outFeatures));
    }

    public void Forward(Tensor input, Tensor output) => _backend.Linear(input, Weight, Bias, output); // [R, in] -> [R, out]

    /// <summary>The product stored as the epilogue says: added to output (a residual), or through an activation.</summary>
    public void Forward(Tensor input, Tensor output, LinearEpilogue epilogue) => _backend.Linear(input, Weight, Bias, output, epilogue);

    /// <summary>This layer of norm(input) (a pre-norm block's first product), stored as the epilogue says.</summary>
    public void Forward(LayerNorm norm, Tensor input, Tensor output, LinearEpilogue epilogue = default) =>
        norm.ThenLinear(input, Weight, Bias, output, epilogue);

    /// <summary>Frees the weights on the device.</summary>
    public void Dispose()
    {
        Weight.Dispose();
        Bias?.Dispose();
    }
}
