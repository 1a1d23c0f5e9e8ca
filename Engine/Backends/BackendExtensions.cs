using MusicGen.Engine.Tensors;
using MusicGen.Loaders.Checkpoints;
using MusicGen.Loaders;

namespace MusicGen.Engine.Backends;

/// <summary>Conveniences composed from the backend's operations; nothing here is backend-specific.</summary>
public static class BackendExtensions
{
    /// <summary>A checkpoint tensor on the device; the host copy, read for this purpose alone, is handed over.</summary>
    public static Tensor Upload(this IBackend backend, HostTensor tensor) => backend.Adopt(tensor.Data, tensor.Shape);

    /// <summary>
    /// Linear-layer weight matrices [rowsEach, columns], stacked along their rows in the given order, on the device
    /// in the reader's <see cref="WeightReader.MatrixType"/>: float32 as read, other types packed one matrix at a
    /// time from the checkpoint.
    /// </summary>
    public static Tensor UploadMatrix(this IBackend backend, WeightReader weights, IReadOnlyList<string> names, int rowsEach, int columns)
    {
        if (weights.MatrixType != WeightType.F32)
        {
            var parts = names.Select(name => weights.Matrix(name, rowsEach, columns)).ToList();
            return backend.UploadPacked(parts.Count == 1 ? parts[0] : PackedMatrix.Stack(parts));
        }
        if (names.Count == 1) return backend.Upload(weights.Float(names[0], rowsEach, columns));
        var stacked = new float[(long)names.Count * rowsEach * columns];
        for (int i = 0; i < names.Count; i++) weights.Float(names[i], rowsEach, columns).Data.CopyTo(stacked, (long)i * rowsEach * columns);
        return backend.Adopt(stacked, names.Count * rowsEach, columns);
    }

    /// <summary>Copies all of source into destination (same element count).</summary>
    public static void Copy(this IBackend backend, Tensor source, Tensor destination)
    {
        if (source.Length != destination.Length)
            throw new ArgumentException($"copy of {ShapeText.Format(source.Shape)} into {ShapeText.Format(destination.Shape)}");
        if (source.Length > 0)
            backend.CopyBlocks(source, 0, 0, destination, 0, 0, checked((int)source.Length), 1);
    }

    /// <summary>A new tensor with the same shape and contents.</summary>
    public static Tensor Clone(this IBackend backend, Tensor source)
    {
        var copy = backend.Allocate(source.ShapeArray());
        backend.Copy(source, copy);
        return copy;
    }
}
