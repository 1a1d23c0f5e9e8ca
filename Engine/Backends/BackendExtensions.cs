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

    /// <summary>
    /// <see cref="IBackend.ResidualUnit"/> as the separate operations it stands for, for a backend that gains
    /// nothing from fusing them (and as the definition the fused ones are tested against). Each step is checked; the
    /// operation as a whole is checked by <see cref="CheckedBackend.ResidualUnit"/> before it calls this.
    /// </summary>
    public static void ResidualUnitInSteps(this IBackend backend, Tensor x, Tensor narrowWeight, Tensor narrowBias, Tensor wideWeight,
        Tensor wideBias, Tensor y, int dilation, int padLeft, int padRight, PadMode mode)
    {
        int batch = x.Dim(0), channels = x.Dim(1), length = x.Dim(2);
        using var padded = backend.Allocate(batch, channels, length + padLeft + padRight);
        backend.Pad1d(x, padded, padLeft, padRight, mode);
        backend.Activation(padded, padded, ActivationKind.Elu);
        using var narrow = backend.Allocate(batch, narrowWeight.Dim(0), length);
        backend.Conv1d(padded, narrowWeight, narrowBias, narrow, stride: 1, dilation);
        backend.Activation(narrow, narrow, ActivationKind.Elu);
        backend.Conv1d(narrow, wideWeight, wideBias, y, stride: 1, dilation: 1);
        backend.Add(x, y, y);
    }

    /// <summary>
    /// <see cref="IBackend.PaddedConv1d"/> as Pad1d into a temporary, then Conv1d, each step checked (the whole by
    /// <see cref="CheckedBackend.PaddedConv1d"/>).
    /// </summary>
    public static void PaddedConv1dInSteps(this IBackend backend, Tensor x, Tensor weight, Tensor? bias, Tensor y, int stride, int dilation,
        int padLeft, int padRight, PadMode mode)
    {
        using var padded = backend.AllocateUninitialized(x.Dim(0), x.Dim(1), x.Dim(2) + padLeft + padRight);
        backend.Pad1d(x, padded, padLeft, padRight, mode);
        backend.Conv1d(padded, weight, bias, y, stride, dilation);
    }

    /// <summary>A new tensor with the same shape and contents.</summary>
    public static Tensor Clone(this IBackend backend, Tensor source)
    {
        var copy = backend.Allocate(source.ShapeArray());
        backend.Copy(source, copy);
        return copy;
    }
}
