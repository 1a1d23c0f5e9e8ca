using MusicGen.Engine.Tensors;

namespace MusicGen.Engine.Models;

/// <summary>
/// Sees a tensor a model has just computed, named by the reference module's path, like llama.cpp's eval
/// callback. The tensor is valid only during the call: copy what you keep (<see cref="Tensor.ToArray"/>).
/// </summary>
public delegate void TensorInspector(string name, Tensor tensor);

/// <summary>Inspectors of the parts of a model.</summary>
public static class TensorInspection
{
    /// <summary>The inspector of a sub-module: its names get the module's prefix; none stays none.</summary>
    public static TensorInspector? Scoped(this TensorInspector? inspector, string prefix) =>
        inspector is null ? null : (name, tensor) => inspector(prefix + name, tensor);
}
