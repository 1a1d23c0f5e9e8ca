using MusicGen.Engine.Tensors;

namespace MusicGen.Engine.Models.Encodec;

/// <summary>
/// One entry of the SEANet encoder's or decoder's layer list; returns a new tensor, leaves its input alone.
/// Disposing it frees its weights.
/// </summary>
public interface IEncodecLayer : IDisposable
{
    Tensor Forward(Tensor hidden); // [B, C, T] -> [B, C', T']

    /// <summary>
    /// The context a span of output needs in input steps: for a span of whole input steps whose outputs need left
    /// and right more outputs around them, how many input steps before and after the span they read. A layer with
    /// no context (elementwise) passes it through; streaming decode uses it to give each chunk enough context.
    /// </summary>
    (int Left, int Right) InputContext(int left, int right) => (left, right);
}

/// <summary>The ELU entries of the layer lists (alpha = 1).</summary>
public sealed class EncodecElu : IEncodecLayer
{
    private readonly Backends.IBackend _backend;

    public EncodecElu(Backends.IBackend backend) => _backend = backend;

    public Tensor Forward(Tensor hidden)
    {
        var output = _backend.AllocateUninitialized(hidden.ShapeArray());
        _backend.Activation(hidden, output, Backends.ActivationKind.Elu);
        return output;
    }

    /// <summary>An activation holds no weights.</summary>
    public void Dispose() { }
}
