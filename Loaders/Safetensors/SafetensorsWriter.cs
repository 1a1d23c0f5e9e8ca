using System.Runtime.InteropServices;
using System.Text;
using System.Text.Json;

namespace MusicGen.Loaders.Safetensors;

/// <summary>
/// Writes safetensors files: codes from the CLI, quantized checkpoints, golden case variants, test fixtures. The
/// file is written to a temporary name beside the target and renamed, so a failed write never leaves a half-written
/// file.
/// </summary>
public sealed class SafetensorsWriter
{
    private readonly List<(string Name, SafetensorsDType DType, int[] Shape, long Bytes, Action<Stream> Write)> _tensors = new();
    private readonly Dictionary<string, string> _metadata = new(StringComparer.Ordinal);

    public SafetensorsWriter AddMetadata(string key, string value)
    {
        _metadata[key] = value;
        return this;
    }

    public SafetensorsWriter Add(string name, SafetensorsDType dtype, int[] shape, ReadOnlySpan<byte> data)
    {
        long expected = ShapeText.ElementCount(shape) * SafetensorsDTypes.SizeOf(dtype);
        if (expected != data.Length)
            throw new ArgumentException($"tensor '{name}': {dtype} {ShapeText.Format(shape)} needs {expected} bytes, got {data.Length}");
        byte[] copy = data.ToArray();
        return Add(name, dtype, shape, stream => stream.Write(copy));
    }

    /// <summary>
    /// A tensor whose bytes <paramref name="write"/> puts on the stream when the file is saved, exactly as many as
    /// its type and shape take: a large file is written without holding all of its data at once.
    /// </summary>
    public SafetensorsWriter Add(string name, SafetensorsDType dtype, int[] shape, Action<Stream> write)
    {
        if (_tensors.Exists(t => t.Name == name)) throw new ArgumentException($"tensor '{name}' added twice");
        _tensors.Add((name, dtype, shape.ToArray(), ShapeText.ElementCount(shape) * SafetensorsDTypes.SizeOf(dtype), write));
        return this;
    }

    public SafetensorsWriter Add(string name, int[] shape, ReadOnlySpan<float> data) =>
        Add(name, SafetensorsDType.F32, shape, MemoryMarshal.AsBytes(data));

    public SafetensorsWriter Add(string name, int[] shape, ReadOnlySpan<long> data) =>
        Add(name, SafetensorsDType.I64, shape, MemoryMarshal.AsBytes(data));

    public SafetensorsWriter AddFloat16(string name, int[] shape, ReadOnlySpan<float> data)
    {
        var halves = new Half[data.Length];
        System.Numerics.Tensors.TensorPrimitives.ConvertToHalf(data, halves);
        return Add(name, SafetensorsDType.F16, shape, MemoryMarshal.AsBytes(halves.AsSpan()));
    }

    public SafetensorsWriter AddBFloat16(string name, int[] shape, ReadOnlySpan<float> data)
    {
        var raw = new ushort[data.Length];
        for (int i = 0; i < data.Length; i++) raw[i] = ElementConversion.ToBFloat16(data[i]);
        return Add(name, SafetensorsDType.BF16, shape, MemoryMarshal.AsBytes(raw.AsSpan()));
    }

    public void Save(string path)
    {
        var header = new Dictionary<string, object>(StringComparer.Ordinal);
        if (_metadata.Count > 0) header["__metadata__"] = _metadata;
        long offset = 0;
        foreach (var (name, dtype, shape, bytes, _) in _tensors)
        {
            header[name] = new Dictionary<string, object>
            {
                ["dtype"] = dtype.ToString(),
                ["shape"] = shape,
                ["data_offsets"] = new[] { offset, offset + bytes },
            };
            offset += bytes;
        }
        var headerBytes = Encoding.UTF8.GetBytes(JsonSerializer.Serialize(header));
        int padding = (8 - headerBytes.Length % 8) % 8;

        AtomicFile.Write(path, stream =>
        {
            stream.Write(BitConverter.GetBytes((ulong)(headerBytes.Length + padding)));
            stream.Write(headerBytes);
            for (int i = 0; i < padding; i++) stream.WriteByte((byte)' ');
            foreach (var (name, _, _, bytes, write) in _tensors)
            {
                long start = stream.Position;
                write(stream);
                if (stream.Position - start != bytes)
                    throw new InvalidOperationException($"tensor '{name}': {stream.Position - start} bytes written for {bytes}");
            }
        });
    }
}
