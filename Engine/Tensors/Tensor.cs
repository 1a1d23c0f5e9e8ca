using MusicGen.Engine.Backends;
using MusicGen.Loaders;
using MusicGen.Loaders.Checkpoints;

namespace MusicGen.Engine.Tensors;

/// <summary>
/// A tensor that lives on its backend's device: a contiguous row-major region of a device buffer. Tensors are
/// float32, except weight matrices uploaded with <see cref="IBackend.UploadPacked"/>, whose
/// <see cref="ElementType"/> says how the backend packed them and which only serve as Linear's weight, and the
/// float16 and q8 key/value caches of <see cref="IBackend.AllocateCache"/>.
/// Views (<see cref="Reshape"/>, <see cref="Slice"/>) share the buffer of the tensor they come from; only the
/// tensor that allocated the buffer releases it.
/// </summary>
public sealed class Tensor : IDisposable
{
    private readonly int[] _shape;
    private readonly bool _ownsBuffer;

    public IBackend Backend { get; }
    /// <summary>The backend's buffer; only the backend that made it looks inside.</summary>
    public IDeviceBuffer Buffer { get; }
    /// <summary>Index of the first element within <see cref="Buffer"/>.</summary>
    public long Offset { get; }
    public ReadOnlySpan<int> Shape => _shape;
    public int Rank => _shape.Length;
    public long Length { get; }
    /// <summary>How the elements are stored: float32 except for packed weight matrices and float16 or q8 caches.</summary>
    public WeightType ElementType { get; }

    public Tensor(IBackend backend, IDeviceBuffer buffer, long offset, int[] shape, bool ownsBuffer, WeightType elementType = WeightType.F32)
    {
        if (shape.Any(d => d < 0)) throw new ArgumentException($"negative dimension in {ShapeText.Format(shape)}");
        Backend = backend;
        Buffer = buffer;
        Offset = offset;
        _shape = shape.ToArray();
        Length = ShapeText.ElementCount(shape);
        _ownsBuffer = ownsBuffer;
        ElementType = elementType;
    }

    public int Dim(int axis) => _shape[axis < 0 ? _shape.Length + axis : axis];

    public int[] ShapeArray() => _shape.ToArray();

    /// <summary>The same elements seen with another shape of the same length.</summary>
    public Tensor Reshape(params int[] shape)
    {
        if (ShapeText.ElementCount(shape) != Length)
            throw new ArgumentException($"cannot view {ShapeText.Format(_shape)} as {ShapeText.Format(shape)}");
        RequireFloat32("Reshape");
        return new Tensor(Backend, Buffer, Offset, shape, ownsBuffer: false);
    }

    private void RequireFloat32(string operation)
    {
        if (ElementType != WeightType.F32) throw new InvalidOperationException($"{operation} of a {ElementType.Name()} tensor");
    }

    /// <summary>Rows [start, start + count) along the first dimension.</summary>
    public Tensor Slice(int start, int count)
    {
        if (start < 0 || count < 0 || start + count > _shape[0])
            throw new ArgumentOutOfRangeException(nameof(start), $"slice [{start}, {start + count}) of {ShapeText.Format(_shape)}");
        RequireFloat32("Slice");
        var shape = _shape.ToArray();
        shape[0] = count;
        long rowLength = _shape[0] == 0 ? 0 : Length / _shape[0];
        return new Tensor(Backend, Buffer, Offset + start * rowLength, shape, ownsBuffer: false);
    }

    /// <summary>Copies the tensor to host memory.</summary>
    public float[] ToArray()
    {
        RequireFloat32("Download");
        var result = new float[Length];
        Backend.Download(this, result);
        return result;
    }

    public override string ToString() =>
        $"Tensor{ShapeText.Format(_shape)}{(ElementType == WeightType.F32 ? "" : " " + ElementType.Name())} on {Backend.Name}";

    public void Dispose()
    {
        if (_ownsBuffer) Buffer.Dispose();
    }
}

/// <summary>A backend's storage for tensor elements.</summary>
public interface IDeviceBuffer : IDisposable
{
    long Length { get; }
}
